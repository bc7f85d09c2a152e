-- 0019: applications filed before their procedure was made confidential
-- are made confidential too, and taken off the workstations that may not
-- hold confidential records.
--
-- `sportello-server catalog reclassify` sets the application's
-- confidential column (a write of the server, replicated like any other:
-- the interview rooms receive it) and writes one record here, which every
-- workstation receives: it names only the application. A workstation
-- outside the confidential scope then removes the application with its
-- attachments, history, registrations (their documents, numbers,
-- annulments and notifications) and the conflict and revert records about
-- them (store.Tx.Withdraw). Written by the server only, replicated,
-- append-only: it is the legal trace of the change of classification.
CREATE TABLE reclassifications (
    id             TEXT PRIMARY KEY, -- derived from the application's ID: one per application
    application_id TEXT NOT NULL,
    reason         TEXT NOT NULL,
    operator_id    TEXT NOT NULL DEFAULT '', -- the administrator's account, when one was named
    created_at     TEXT NOT NULL
);
CREATE TRIGGER reclassifications_no_update BEFORE UPDATE ON reclassifications BEGIN SELECT RAISE(ABORT, 'reclassifications is append-only'); END;
CREATE TRIGGER reclassifications_no_delete BEFORE DELETE ON reclassifications BEGIN SELECT RAISE(ABORT, 'reclassifications is append-only'); END;

-- Where the server's change log stood when it reclassified an application
-- (the reclassification's own entry): what a workstation that had not
-- pulled that far sends of the application was allowed as far as anyone
-- at the desk could know, and is kept (store.Tx.ReclassificationUnseen),
-- as with an operator's deactivation (0016). Server only.
CREATE TABLE reclassification_marks (
    application_id TEXT PRIMARY KEY,
    log_seq        INTEGER NOT NULL
) WITHOUT ROWID;

-- The applications a workstation outside the confidential scope still has
-- to remove: one of their rows holds a change of its own not acknowledged
-- yet (it goes once the push is answered), or another row still refers to
-- them. Replicas only.
CREATE TABLE sync_withdrawals (
    application_id TEXT PRIMARY KEY
) WITHOUT ROWID;

-- A revert record is as confidential as the row it is about: a
-- workstation that removes a reclassified application removes those too,
-- as it removes its own refused rows (0009).
DROP TRIGGER sync_reverts_no_delete;
CREATE TRIGGER sync_reverts_no_delete BEFORE DELETE ON sync_reverts
WHEN NOT EXISTS (SELECT 1 FROM local_meta WHERE key = 'sync_repair_delete')
BEGIN SELECT RAISE(ABORT, 'sync_reverts is append-only'); END;
