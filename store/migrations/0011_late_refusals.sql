-- 0011: a change parked on a restored server (0010) was acknowledged to its
-- workstation when it was parked; refused later (when numbering resumes
-- without what it refers to), its refusal can no longer travel with the
-- answer to a push, which lists refusals of changes not yet acknowledged.
-- Such a late refusal gets a number of its own, increasing on the server;
-- pulls announce the workstation's latest and the workstation fetches those
-- past its own cursor (GET /v1/late-refused). Server only.
ALTER TABLE sync_rejections ADD COLUMN late_seq INTEGER;
CREATE INDEX sync_rejections_late ON sync_rejections (workstation_id, late_seq) WHERE late_seq IS NOT NULL;
-- A definitive number given back whose registration the server refused has
-- nowhere to go (store.Tx.RecoverNumber, "void"): looked up by row.
CREATE INDEX sync_rejections_row ON sync_rejections (tbl, row_id);
