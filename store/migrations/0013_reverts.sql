-- 0013: a change a workstation pushes again to a restored server may have
-- been accepted and forwarded by the lost server, and be refused by the
-- restored one: the replicas that pulled it hold its values. The server
-- writes a revert record (replacing the clock-based re-assertion of 0010's
-- sync_reassert): the refused write's clock and, for each of its columns,
-- the register's value with its version. A replica whose column still
-- holds the refused write takes the register's value and version back
-- (store.Tx.ApplyRemote) — or, when the register lacks yet an older write
-- of the column that is the replica's own, that write again, from its log;
-- any other write, earlier or later, merges as it always does. Written by the server only, replicated, as confidential as
-- the row it is about, append-only.
CREATE TABLE sync_reverts (
    id         TEXT PRIMARY KEY,
    tbl        TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    void_hlc   TEXT NOT NULL, -- the refused write's clock
    vals       TEXT NOT NULL, -- JSON: the register's value of each column of the refused write
    versions   TEXT NOT NULL, -- JSON: their versions, column -> {"h": …, "b": …} (none: no version)
    created_at TEXT NOT NULL
);
CREATE TRIGGER sync_reverts_no_update BEFORE UPDATE ON sync_reverts BEGIN SELECT RAISE(ABORT, 'sync_reverts is append-only'); END;
CREATE TRIGGER sync_reverts_no_delete BEFORE DELETE ON sync_reverts BEGIN SELECT RAISE(ABORT, 'sync_reverts is append-only'); END;

-- A refused change of a row the server does not have yet (another
-- workstation has still to push it again): its revert is written when the
-- row arrives (store.Tx.RevertsDue). Server only.
CREATE TABLE sync_pending_reverts (
    tbl      TEXT NOT NULL,
    row_id   TEXT NOT NULL,
    void_hlc TEXT NOT NULL,
    cols     TEXT NOT NULL, -- JSON array: the refused write's columns
    PRIMARY KEY (tbl, row_id, void_hlc)
) WITHOUT ROWID;
