-- 0012: a workstation may rejoin a restored server only after numbering
-- resumed, holding definitive numbers the lost server gave registrations
-- it has still to push again. A number the resumed register never gives
-- again (no higher than where numbering resumed, or of an earlier year) is
-- reserved for its registration, which gets it back, with its row ID, when
-- it arrives instead of a new one (store.Tx.RecoverNumber,
-- Tx.TakeReservedNumber). A reservation stays once used: the citizen's
-- notification of that number may then be given back too. Server only.
CREATE TABLE sync_reserved_numbers (
    registration_id TEXT PRIMARY KEY,
    number_id       TEXT NOT NULL UNIQUE,
    aoo             TEXT NOT NULL,
    year            INTEGER NOT NULL,
    number          INTEGER NOT NULL,
    assigned_at     TEXT NOT NULL,
    reserved_at     TEXT NOT NULL,
    used_at         TEXT NOT NULL DEFAULT '',
    UNIQUE (aoo, year, number)
) WITHOUT ROWID;
