-- 0007: the field versions of a row inserted whole, kept in the row.
-- A row written by one insert, and not since, has one version for all its
-- non-empty columns: the insert's clock. It is kept here instead of a
-- sync_versions entry (one B-tree write fewer per inserted row). A row with
-- a sync_versions entry uses that entry; '' means the row has none here.
-- See docs/data-model.md ("Field versions").
ALTER TABLE application_attachments ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE citizen_delegations ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE citizens ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE offices ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE operators ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE procedures ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE settings ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_conflicts ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE workstations ADD COLUMN sync_hlc TEXT NOT NULL DEFAULT '';
