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

-- How the server judged the operator of the last local transaction each
-- workstation pushed: a transaction is one act, and when its changes reach
-- the server in more than one push (batches end anywhere), the rest of it
-- is judged as its first change was, whatever was done to the operator's
-- account in between (store.Tx.PeerStanding).
ALTER TABLE sync_peers ADD COLUMN tx_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_peers ADD COLUMN tx_operator TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_peers ADD COLUMN tx_role TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_peers ADD COLUMN tx_allowed INTEGER NOT NULL DEFAULT 0 CHECK (tx_allowed IN (0, 1));
