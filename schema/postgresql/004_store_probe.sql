-- The readiness probe's row (twin of schema/004_store_probe.sql).

CREATE TABLE store_probe (
  id         integer PRIMARY KEY CHECK (id = 1),
  written_at bigint  NOT NULL
);
