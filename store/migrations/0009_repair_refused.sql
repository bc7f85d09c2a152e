-- 0009: a workstation brings back to the server's copy a row whose change
-- the server refused (store.Tx.RepairRefused). A refused row of a legal,
-- append-only table never became a legal record (the server, whose copy is
-- the register, does not have it), so the workstation removes its own copy:
-- the no-delete triggers let a delete through only while that repair has
-- set local_meta's sync_repair_delete, inside its own savepoint. Nothing
-- else sets the key, and the server never does; audit_log stays
-- undeletable everywhere.
DROP TRIGGER application_history_no_delete;
CREATE TRIGGER application_history_no_delete BEFORE DELETE ON application_history
WHEN NOT EXISTS (SELECT 1 FROM local_meta WHERE key = 'sync_repair_delete')
BEGIN SELECT RAISE(ABORT, 'application_history is append-only'); END;
DROP TRIGGER protocol_registrations_no_delete;
CREATE TRIGGER protocol_registrations_no_delete BEFORE DELETE ON protocol_registrations
WHEN NOT EXISTS (SELECT 1 FROM local_meta WHERE key = 'sync_repair_delete')
BEGIN SELECT RAISE(ABORT, 'protocol_registrations is append-only'); END;
DROP TRIGGER protocol_documents_no_delete;
CREATE TRIGGER protocol_documents_no_delete BEFORE DELETE ON protocol_documents
WHEN NOT EXISTS (SELECT 1 FROM local_meta WHERE key = 'sync_repair_delete')
BEGIN SELECT RAISE(ABORT, 'protocol_documents is append-only'); END;
DROP TRIGGER protocol_numbers_no_delete;
CREATE TRIGGER protocol_numbers_no_delete BEFORE DELETE ON protocol_numbers
WHEN NOT EXISTS (SELECT 1 FROM local_meta WHERE key = 'sync_repair_delete')
BEGIN SELECT RAISE(ABORT, 'protocol_numbers is append-only'); END;
DROP TRIGGER protocol_annulments_no_delete;
CREATE TRIGGER protocol_annulments_no_delete BEFORE DELETE ON protocol_annulments
WHEN NOT EXISTS (SELECT 1 FROM local_meta WHERE key = 'sync_repair_delete')
BEGIN SELECT RAISE(ABORT, 'protocol_annulments is append-only'); END;
DROP TRIGGER protocol_interruption_extensions_no_delete;
CREATE TRIGGER protocol_interruption_extensions_no_delete BEFORE DELETE ON protocol_interruption_extensions
WHEN NOT EXISTS (SELECT 1 FROM local_meta WHERE key = 'sync_repair_delete')
BEGIN SELECT RAISE(ABORT, 'protocol_interruption_extensions is append-only'); END;
DROP TRIGGER protocol_interruptions_no_delete;
CREATE TRIGGER protocol_interruptions_no_delete BEFORE DELETE ON protocol_interruptions
WHEN NOT EXISTS (SELECT 1 FROM local_meta WHERE key = 'sync_repair_delete')
BEGIN SELECT RAISE(ABORT, 'protocol_interruptions is append-only'); END;
