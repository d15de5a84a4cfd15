-- One row the readiness probe rewrites every few seconds: only a committed write proves the
-- store can take one (a file opened read-only still begins and rolls back transactions).
-- Numbered 004 after the pay (002) and refund (003) migrations being written alongside it.

CREATE TABLE store_probe (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  written_at INTEGER NOT NULL
);
