-- 0001: the local replica's first schema.
--
-- Conventions (docs/data-model.md):
--  * every replicated table has a TEXT primary key "id" created offline
--    (UUIDv7, or a UUIDv5 derived from a natural key such as the codice fiscale);
--  * instants are RFC 3339 UTC strings; legal calendar dates are Europe/Rome;
--  * append-only tables (legal records) refuse UPDATE and DELETE by trigger;
--  * every replicated write is mirrored in sync_changes in the same transaction.

-- Not replicated: this installation's identity and counters.
CREATE TABLE local_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Not replicated: content-addressed attachment files kept under blobs/.
CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size       INTEGER NOT NULL CHECK (size >= 0),
    format     TEXT NOT NULL DEFAULT '',
    media_type TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- The change log consumed by sync: one row per replicated row change.
CREATE TABLE sync_changes (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT, -- per-replica sequence
    tx_id          TEXT NOT NULL,                     -- groups the changes of one local transaction
    tbl            TEXT NOT NULL,
    row_id         TEXT NOT NULL,
    op             TEXT NOT NULL CHECK (op IN ('insert', 'update')),
    data           TEXT NOT NULL,                     -- JSON object: the columns written, with values
    hlc            TEXT NOT NULL,                     -- hybrid logical clock of the change
    operator_id    TEXT NOT NULL DEFAULT '',
    workstation_id TEXT NOT NULL
);
CREATE INDEX sync_changes_row ON sync_changes (tbl, row_id);

-- Replicated configuration: municipality, queue services, and other settings.
CREATE TABLE settings (
    id         TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE offices (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}', -- catalog.Office as JSON
    updated_at TEXT NOT NULL
);

CREATE TABLE procedures (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    office_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    confidential INTEGER NOT NULL DEFAULT 0,
    active       INTEGER NOT NULL DEFAULT 1,
    definition   TEXT NOT NULL, -- catalog.Procedure as JSON
    updated_at   TEXT NOT NULL
);

CREATE TABLE workstations (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'desk', -- desk, interview, protocol, laptop
    active     INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);

CREATE TABLE operators (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    full_name     TEXT NOT NULL,
    role          TEXT NOT NULL,
    office_id     TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    updated_at    TEXT NOT NULL
);

CREATE TABLE citizens (
    id                 TEXT PRIMARY KEY,
    codice_fiscale     TEXT,            -- NULL when not known; unique when known
    surname            TEXT NOT NULL DEFAULT '',
    name               TEXT NOT NULL DEFAULT '',
    search_name        TEXT NOT NULL DEFAULT '', -- "surname name" folded: lower case, no accents
    sex                TEXT NOT NULL DEFAULT '',
    birth_date         TEXT NOT NULL DEFAULT '',
    birth_place        TEXT NOT NULL DEFAULT '',
    birth_place_code   TEXT NOT NULL DEFAULT '',
    phone              TEXT NOT NULL DEFAULT '',
    email              TEXT NOT NULL DEFAULT '',
    pec                TEXT NOT NULL DEFAULT '',
    address_street     TEXT NOT NULL DEFAULT '',
    address_cap        TEXT NOT NULL DEFAULT '',
    address_city       TEXT NOT NULL DEFAULT '',
    address_province   TEXT NOT NULL DEFAULT '',
    address_country    TEXT NOT NULL DEFAULT '',
    doc_type           TEXT NOT NULL DEFAULT '',
    doc_number         TEXT NOT NULL DEFAULT '',
    doc_number_folded  TEXT NOT NULL DEFAULT '',
    doc_issuer         TEXT NOT NULL DEFAULT '',
    doc_issued_on      TEXT NOT NULL DEFAULT '',
    doc_expires_on     TEXT NOT NULL DEFAULT '',
    privacy_consent    INTEGER NOT NULL DEFAULT 0,
    privacy_consent_at TEXT NOT NULL DEFAULT '',
    notes              TEXT NOT NULL DEFAULT '',
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX citizens_cf ON citizens (codice_fiscale) WHERE codice_fiscale IS NOT NULL;
CREATE INDEX citizens_search_name ON citizens (search_name);
CREATE INDEX citizens_doc ON citizens (doc_number_folded) WHERE doc_number_folded <> '';

CREATE TABLE citizen_delegations (
    id          TEXT PRIMARY KEY,
    citizen_id  TEXT NOT NULL REFERENCES citizens (id),
    delegate_id TEXT NOT NULL REFERENCES citizens (id),
    scope       TEXT NOT NULL DEFAULT '',
    valid_until TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    revoked     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CHECK (citizen_id <> delegate_id)
);
CREATE INDEX citizen_delegations_citizen ON citizen_delegations (citizen_id);

CREATE TABLE applications (
    id             TEXT PRIMARY KEY,
    procedure_id   TEXT NOT NULL,
    citizen_id     TEXT NOT NULL REFERENCES citizens (id),
    delegate_id    TEXT REFERENCES citizens (id),
    office_id      TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('bozza', 'completa', 'protocollata', 'inoltrata', 'in_lavorazione', 'conclusa', 'respinta')),
    confidential   INTEGER NOT NULL DEFAULT 0,
    subject        TEXT NOT NULL DEFAULT '',
    form_data      TEXT NOT NULL DEFAULT '{}', -- JSON object field key -> value
    stamp_duty_ids TEXT NOT NULL DEFAULT '[]', -- JSON array of 14-digit identifiers
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    workstation_id TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX applications_citizen ON applications (citizen_id, created_at);
CREATE INDEX applications_state ON applications (state, office_id);

CREATE TABLE application_attachments (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications (id),
    doc_type        TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    format          TEXT NOT NULL DEFAULT '',
    media_type      TEXT NOT NULL DEFAULT '',
    size            INTEGER NOT NULL,
    sha256          TEXT NOT NULL CHECK (length(sha256) = 64),
    signature       TEXT NOT NULL DEFAULT '',
    declared_signed INTEGER NOT NULL DEFAULT 0,
    added_at        TEXT NOT NULL,
    added_by        TEXT NOT NULL,
    withdrawn       INTEGER NOT NULL DEFAULT 0, -- withdrawn from a draft; the row and the blob stay
    withdrawn_at    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX application_attachments_app ON application_attachments (application_id);

-- Append-only: the application's lifecycle.
CREATE TABLE application_history (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    from_state     TEXT NOT NULL,
    to_state       TEXT NOT NULL,
    at             TEXT NOT NULL,
    hlc            TEXT NOT NULL,
    operator_id    TEXT NOT NULL,
    workstation_id TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX application_history_app ON application_history (application_id, hlc);

-- Emergency register interruptions (art. 63 DPR 445/2000). ended_at is set once.
CREATE TABLE protocol_interruptions (
    id                TEXT PRIMARY KEY,
    workstation_id    TEXT NOT NULL,
    register_code     TEXT NOT NULL,
    cause             TEXT NOT NULL CHECK (cause <> ''),
    authorized_by     TEXT NOT NULL,
    authorization_ref TEXT NOT NULL DEFAULT '',
    started_at        TEXT NOT NULL,
    ended_at          TEXT NOT NULL DEFAULT '',
    ended_by          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX protocol_interruptions_ws ON protocol_interruptions (workstation_id, started_at);

-- Append-only: authorised extensions beyond 24 hours, at most one week each.
CREATE TABLE protocol_interruption_extensions (
    id                TEXT PRIMARY KEY,
    interruption_id   TEXT NOT NULL REFERENCES protocol_interruptions (id),
    authorization_ref TEXT NOT NULL CHECK (authorization_ref <> ''),
    valid_until       TEXT NOT NULL,
    authorized_by     TEXT NOT NULL,
    at                TEXT NOT NULL
);

-- Append-only: protocol registrations (art. 53), written in one operation.
CREATE TABLE protocol_registrations (
    id                   TEXT PRIMARY KEY,
    direction            TEXT NOT NULL CHECK (direction IN ('E', 'U')), -- Entrata / Uscita
    registered_at        TEXT NOT NULL, -- instant, UTC
    reg_date             TEXT NOT NULL, -- Europe/Rome calendar date
    year                 INTEGER NOT NULL,
    register_kind        TEXT NOT NULL CHECK (register_kind IN ('emergenza', 'ordinario')),
    emergency_register   TEXT NOT NULL DEFAULT '',
    emergency_number     INTEGER,
    interruption_id      TEXT REFERENCES protocol_interruptions (id),
    correspondent        TEXT NOT NULL CHECK (correspondent <> ''), -- sender (E) or recipient (U)
    correspondent_cf     TEXT NOT NULL DEFAULT '',
    subject              TEXT NOT NULL CHECK (subject <> ''),
    classification       TEXT NOT NULL DEFAULT '',
    office_id            TEXT NOT NULL DEFAULT '',
    application_id       TEXT REFERENCES applications (id),
    received_doc_number  TEXT NOT NULL DEFAULT '',
    received_doc_date    TEXT NOT NULL DEFAULT '',
    confidential         INTEGER NOT NULL DEFAULT 0,
    operator_id          TEXT NOT NULL,
    workstation_id       TEXT NOT NULL,
    CHECK ((register_kind = 'emergenza') = (emergency_number IS NOT NULL))
);
CREATE UNIQUE INDEX protocol_registrations_emergency ON protocol_registrations (emergency_register, year, emergency_number) WHERE emergency_number IS NOT NULL;
CREATE INDEX protocol_registrations_date ON protocol_registrations (reg_date);
CREATE INDEX protocol_registrations_app ON protocol_registrations (application_id) WHERE application_id IS NOT NULL;

-- Append-only: the documents of a registration with their impronta.
CREATE TABLE protocol_documents (
    id              TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL REFERENCES protocol_registrations (id),
    role            TEXT NOT NULL CHECK (role IN ('primario', 'allegato')),
    position        INTEGER NOT NULL,
    name            TEXT NOT NULL,
    sha256          TEXT NOT NULL CHECK (length(sha256) = 64),
    size            INTEGER NOT NULL,
    media_type      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX protocol_documents_reg ON protocol_documents (registration_id);

-- Append-only: definitive numbers, assigned only by the server.
CREATE TABLE protocol_numbers (
    id              TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL UNIQUE REFERENCES protocol_registrations (id),
    aoo             TEXT NOT NULL,
    year            INTEGER NOT NULL,
    number          INTEGER NOT NULL CHECK (number > 0),
    assigned_at     TEXT NOT NULL,
    UNIQUE (aoo, year, number)
);

-- Append-only: annulments (art. 54).
CREATE TABLE protocol_annulments (
    id                TEXT PRIMARY KEY,
    registration_id   TEXT NOT NULL REFERENCES protocol_registrations (id),
    reason            TEXT NOT NULL CHECK (reason <> ''),
    authorization_ref TEXT NOT NULL DEFAULT '',
    operator_id       TEXT NOT NULL,
    workstation_id    TEXT NOT NULL,
    at                TEXT NOT NULL
);
CREATE INDEX protocol_annulments_reg ON protocol_annulments (registration_id);

-- Append-only: tamper-evident audit log, one hash chain per workstation.
CREATE TABLE audit_log (
    id             TEXT PRIMARY KEY,
    workstation_id TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    at             TEXT NOT NULL,
    hlc            TEXT NOT NULL,
    operator_id    TEXT NOT NULL,
    action         TEXT NOT NULL,
    tbl            TEXT NOT NULL,
    row_id         TEXT NOT NULL,
    data           TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    UNIQUE (workstation_id, seq)
);

-- Legal records are never updated in place nor deleted.
CREATE TRIGGER application_history_no_update BEFORE UPDATE ON application_history BEGIN SELECT RAISE(ABORT, 'application_history is append-only'); END;
CREATE TRIGGER application_history_no_delete BEFORE DELETE ON application_history BEGIN SELECT RAISE(ABORT, 'application_history is append-only'); END;
CREATE TRIGGER protocol_registrations_no_update BEFORE UPDATE ON protocol_registrations BEGIN SELECT RAISE(ABORT, 'protocol_registrations is append-only'); END;
CREATE TRIGGER protocol_registrations_no_delete BEFORE DELETE ON protocol_registrations BEGIN SELECT RAISE(ABORT, 'protocol_registrations is append-only'); END;
CREATE TRIGGER protocol_documents_no_update BEFORE UPDATE ON protocol_documents BEGIN SELECT RAISE(ABORT, 'protocol_documents is append-only'); END;
CREATE TRIGGER protocol_documents_no_delete BEFORE DELETE ON protocol_documents BEGIN SELECT RAISE(ABORT, 'protocol_documents is append-only'); END;
CREATE TRIGGER protocol_numbers_no_update BEFORE UPDATE ON protocol_numbers BEGIN SELECT RAISE(ABORT, 'protocol_numbers is append-only'); END;
CREATE TRIGGER protocol_numbers_no_delete BEFORE DELETE ON protocol_numbers BEGIN SELECT RAISE(ABORT, 'protocol_numbers is append-only'); END;
CREATE TRIGGER protocol_annulments_no_update BEFORE UPDATE ON protocol_annulments BEGIN SELECT RAISE(ABORT, 'protocol_annulments is append-only'); END;
CREATE TRIGGER protocol_annulments_no_delete BEFORE DELETE ON protocol_annulments BEGIN SELECT RAISE(ABORT, 'protocol_annulments is append-only'); END;
CREATE TRIGGER protocol_interruption_extensions_no_update BEFORE UPDATE ON protocol_interruption_extensions BEGIN SELECT RAISE(ABORT, 'protocol_interruption_extensions is append-only'); END;
CREATE TRIGGER protocol_interruption_extensions_no_delete BEFORE DELETE ON protocol_interruption_extensions BEGIN SELECT RAISE(ABORT, 'protocol_interruption_extensions is append-only'); END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER protocol_interruptions_no_delete BEFORE DELETE ON protocol_interruptions BEGIN SELECT RAISE(ABORT, 'protocol_interruptions is append-only'); END;
CREATE TRIGGER protocol_interruptions_close_once BEFORE UPDATE ON protocol_interruptions
WHEN OLD.ended_at <> '' OR NEW.id <> OLD.id OR NEW.workstation_id <> OLD.workstation_id
  OR NEW.register_code <> OLD.register_code OR NEW.cause <> OLD.cause
  OR NEW.authorized_by <> OLD.authorized_by OR NEW.authorization_ref <> OLD.authorization_ref
  OR NEW.started_at <> OLD.started_at
BEGIN SELECT RAISE(ABORT, 'protocol_interruptions: only ended_at/ended_by may be set, once'); END;
