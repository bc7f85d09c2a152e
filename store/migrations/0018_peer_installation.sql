-- 0018: what the server knows of each workstation's installation: the
-- certificate it holds for the server's next one, and its program's version.
--
-- A server that will present a new certificate announces its fingerprint
-- (Sportello-Next-Certificate) over the certificate the workstations
-- pinned; each workstation keeps it and reports it on its next pull, and
-- the server records it here, so that `sportello-server certificate
-- switch` can say which workstations would be cut off by the switch.
-- Server only; the column exists on replicas unused.
ALTER TABLE sync_peers ADD COLUMN next_certificate TEXT NOT NULL DEFAULT '';
-- The schema version of the program each workstation last reached the
-- server with (sync.HeaderSchema), and when: after the server is updated,
-- `sportello-server workstation list` names the workstations whose
-- program is not, and whose syncs the server therefore refuses.
ALTER TABLE sync_peers ADD COLUMN program_schema INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_peers ADD COLUMN program_seen_at TEXT NOT NULL DEFAULT '';
