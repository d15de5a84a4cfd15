-- Per-user budgets that several nodes count once (twin of schema/005_shared_counters.sql).

CREATE TABLE shared_counter (
  name         text    NOT NULL,
  key          text    NOT NULL,
  window_start bigint  NOT NULL,
  count        integer NOT NULL,
  PRIMARY KEY (name, key)
);
