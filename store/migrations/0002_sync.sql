-- 0002: what replication needs to merge and to stay idempotent.

-- The origin of every change: local changes have origin_seq = seq; changes
-- applied from another replica keep their origin's workstation and seq, so
-- a change is applied at most once anywhere.
ALTER TABLE sync_changes ADD COLUMN origin_seq INTEGER;
UPDATE sync_changes SET origin_seq = seq;
CREATE UNIQUE INDEX sync_changes_origin ON sync_changes (workstation_id, origin_seq);

-- The per-field version base each writer saw: {"column": "hlc it overwrote"}.
ALTER TABLE sync_changes ADD COLUMN base TEXT NOT NULL DEFAULT '{}';

-- Current version of every field of every replicated row:
-- {"column": {"h": "hlc of the write", "b": "hlc that write overwrote"}}.
CREATE TABLE sync_versions (
    tbl      TEXT NOT NULL,
    row_id   TEXT NOT NULL,
    versions TEXT NOT NULL,
    PRIMARY KEY (tbl, row_id)
) WITHOUT ROWID;

-- Concurrent writes of the same field: the winner is applied, the loser is
-- kept here for a person to see and resolve. Written by the server's merge
-- and replicated to every replica that may read the row.
CREATE TABLE sync_conflicts (
    id            TEXT PRIMARY KEY,
    tbl           TEXT NOT NULL,
    row_id        TEXT NOT NULL,
    col           TEXT NOT NULL,
    winner_value  TEXT NOT NULL, -- JSON
    winner_hlc    TEXT NOT NULL,
    loser_value   TEXT NOT NULL, -- JSON
    loser_hlc     TEXT NOT NULL,
    loser_origin  TEXT NOT NULL, -- workstation that wrote the losing value
    detected_at   TEXT NOT NULL,
    resolved      INTEGER NOT NULL DEFAULT 0,
    resolved_by   TEXT NOT NULL DEFAULT '',
    resolved_at   TEXT NOT NULL DEFAULT '',
    resolution    TEXT NOT NULL DEFAULT '' -- 'kept_winner' or 'restored_loser'
);
CREATE INDEX sync_conflicts_open ON sync_conflicts (resolved, detected_at);
