-- 0018: the certificate each workstation holds for the server's next one.
-- A server that will present a new certificate announces its fingerprint
-- (Sportello-Next-Certificate) over the certificate the workstations
-- pinned; each workstation keeps it and reports it on its next pull, and
-- the server records it here, so that `sportello-server certificate
-- switch` can say which workstations would be cut off by the switch.
-- Server only; the column exists on replicas unused.
ALTER TABLE sync_peers ADD COLUMN next_certificate TEXT NOT NULL DEFAULT '';
