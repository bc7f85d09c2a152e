-- 0015: a new record pushed again that a restored server refuses (its
-- operator deactivated meanwhile, what it refers to never pushed again)
-- may have been accepted and forwarded by the lost server: the replicas
-- that pulled it hold it, and the register does not. Until now a revert
-- record (0013) only put back the register's values of a row it has; one
-- with absent = 1 says the register has no such record, and a replica that
-- holds it from others only removes it (store.Tx.applyRevert), its
-- versions too, a row of an append-only table included (it never became a
-- legal record). A row still referred to by other rows of the replica
-- waits in sync_pending_removals, tried again after every sync until what
-- refers to it is gone (store.Tx.RemovalsDue). Replica only.
ALTER TABLE sync_reverts ADD COLUMN absent INTEGER NOT NULL DEFAULT 0 CHECK (absent IN (0, 1));
-- An absent revert's row is not on the server to say how confidential it
-- is: the refused insert's data said so when the revert was written
-- (store.RowConfidentialQ reads it; desks never receive such a revert).
ALTER TABLE sync_reverts ADD COLUMN confidential INTEGER NOT NULL DEFAULT 0 CHECK (confidential IN (0, 1));

CREATE TABLE sync_pending_removals (
    tbl      TEXT NOT NULL,
    row_id   TEXT NOT NULL,
    void_hlc TEXT NOT NULL, -- the refused insert's clock
    PRIMARY KEY (tbl, row_id, void_hlc)
) WITHOUT ROWID;
