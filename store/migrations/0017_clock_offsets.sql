-- 0017: how far each workstation's clock is from the server's. A desk
-- writes the legal dates of what it does offline (an emergency
-- registration's date and time, an application's history) with its own
-- clock, so a clock hours or days off writes wrong dates without anyone
-- noticing. The first request of each pull carries the workstation's
-- clock (Sportello-Clock); the server records the difference, and
-- `sportello-server workstation list` names the workstations whose clock
-- is off. Server only; the columns exist on replicas unused.
ALTER TABLE sync_peers ADD COLUMN clock_offset_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_peers ADD COLUMN clock_checked_at TEXT NOT NULL DEFAULT '';
