-- 0006: field versions that every workstation is past.
-- The newest clock among a row's field versions, so that an initial copy
-- can leave out the versions no future write can lose to.
ALTER TABLE sync_versions ADD COLUMN max_hlc TEXT NOT NULL DEFAULT '';
UPDATE sync_versions SET max_hlc = COALESCE((SELECT max(json_extract(value, '$.h')) FROM json_each(sync_versions.versions)), '');
-- Every change the workstation will still push carries a clock at least
-- this high (it says so when it pulls; its initial copy sets it first).
ALTER TABLE sync_peers ADD COLUMN floor_hlc TEXT NOT NULL DEFAULT '';
