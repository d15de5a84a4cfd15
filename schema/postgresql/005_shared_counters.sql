-- Budgets that several nodes count once (twin of schema/005_shared_counters.sql).

CREATE TABLE shared_counter (
  name         text    NOT NULL,
  key          text    NOT NULL,
  window_start bigint  NOT NULL,
  count        integer NOT NULL,
  expires_at   bigint  NOT NULL,
  PRIMARY KEY (name, key)
);
CREATE INDEX shared_counter_expiry ON shared_counter (expires_at);
