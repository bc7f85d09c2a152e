-- 0016: an operator's deactivation takes effect at a workstation when it
-- arrives there. What the operator did at a workstation that had not
-- received it yet is kept (a registration among it: its number is on the
-- citizen's receipt, and art. 63 DPR 445/2000 wants every emergency
-- registration loaded); what a workstation sends once it has pulled the
-- deactivation is refused. Server only; the column and table exist on
-- replicas unused.
--
-- How far each workstation had pulled the server's change log when it last
-- started a pull (its committed cursor): a change of the log at or below it
-- has reached the workstation.
ALTER TABLE sync_peers ADD COLUMN pulled_seq INTEGER NOT NULL DEFAULT 0;

-- Where the server's change log stood when an operator was last
-- deactivated (the deactivation's own entry), written with it
-- (store.Tx.PutOperator). Not replicated.
CREATE TABLE operator_deactivations (
    operator_id TEXT PRIMARY KEY,
    log_seq     INTEGER NOT NULL,
    at          TEXT NOT NULL
) WITHOUT ROWID;
