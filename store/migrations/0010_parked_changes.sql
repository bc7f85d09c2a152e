-- 0010: on a server restored from a backup, a change pushed again by a
-- workstation that rejoins may refer to a row another workstation has not
-- pushed again yet (a registration of an application created elsewhere
-- after the backup). While numbering is held (the restore window) such a
-- change is parked here instead of refused, and applied as soon as what it
-- refers to arrives; at the resume, what is still parked is refused.
-- Server only, not replicated.
CREATE TABLE sync_parked (
    workstation_id TEXT NOT NULL,
    origin_seq     INTEGER NOT NULL,
    tbl            TEXT NOT NULL,
    row_id         TEXT NOT NULL,
    change         TEXT NOT NULL, -- the change as received (JSON)
    parked_at      TEXT NOT NULL,
    PRIMARY KEY (workstation_id, origin_seq)
) WITHOUT ROWID;
CREATE INDEX sync_parked_row ON sync_parked (tbl, row_id);

-- A change pushed again that the restored server refuses may have been
-- accepted and forwarded by the lost one: once the restore window ends
-- (every workstation has pushed again what it had), the register's values
-- of its fields are written again just past it (store.Tx.Reassert).
CREATE TABLE sync_reassert (
    tbl    TEXT NOT NULL,
    row_id TEXT NOT NULL,
    cols   TEXT NOT NULL, -- JSON array of the refused change's columns
    above  TEXT NOT NULL, -- the refused change's clock
    PRIMARY KEY (tbl, row_id, above)
) WITHOUT ROWID;
