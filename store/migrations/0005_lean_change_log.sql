-- 0005: the change log carries less.
-- Nothing looks changes up by row: the index only slowed every write down.
DROP INDEX sync_changes_row;
