-- 0003: the server side of replication. These tables are local to the
-- server's database (never replicated): secrets and per-peer cursors.

-- Whether a workstation may receive confidential records (interview rooms).
ALTER TABLE workstations ADD COLUMN confidential INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workstations ADD COLUMN revoked_at TEXT NOT NULL DEFAULT '';

-- One-time enrolment codes, stored as SHA-256.
CREATE TABLE sync_enrolments (
    code_hash      TEXT PRIMARY KEY,
    workstation_id TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- Workstation tokens, stored as SHA-256; revoked tokens stay for the record.
CREATE TABLE sync_tokens (
    token_hash     TEXT PRIMARY KEY,
    workstation_id TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    revoked_at     TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- What each workstation has pushed: changes and audit entries up to these
-- origin seqs are applied (updated in the same transaction as the changes).
CREATE TABLE sync_peers (
    workstation_id TEXT PRIMARY KEY,
    last_seq       INTEGER NOT NULL DEFAULT 0,
    last_audit_seq INTEGER NOT NULL DEFAULT 0,
    last_seen_at   TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- Changes the server refused, with the reason the client shows.
CREATE TABLE sync_rejections (
    workstation_id TEXT NOT NULL,
    origin_seq     INTEGER NOT NULL,
    tbl            TEXT NOT NULL,
    row_id         TEXT NOT NULL,
    code           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    at             TEXT NOT NULL,
    PRIMARY KEY (workstation_id, origin_seq)
) WITHOUT ROWID;

-- Notifications to citizens, queued where they arise and sent by the server.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    citizen_id  TEXT NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'pec', 'sms')),
    address     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    ref_table   TEXT NOT NULL DEFAULT '',
    ref_id      TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL DEFAULT 'in_coda' CHECK (state IN ('in_coda', 'inviata', 'consegnata', 'errore', 'non_recapitabile')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX notifications_state ON notifications (state, created_at);
