-- Refunds: a final order state REFUNDED (order_status 4, pay_status 4) and one refund per order.

-- Widen the two CHECK constraints of openai_order in place. SQLite cannot alter a CHECK, and a
-- table rebuild would have to name every column (dropping any a later migration added); a wider
-- check accepts every existing row, so editing the stored definition is the documented
-- "change a constraint without touching the data" path. RESET reloads this connection's schema;
-- the CREATE TABLE below bumps the schema cookie so other connections reload it too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(replace(sql,
       'CHECK (order_status IN (0, 1, 2, 3))', 'CHECK (order_status IN (0, 1, 2, 3, 4))'),
       'CHECK (pay_status IN (0, 1, 3))', 'CHECK (pay_status IN (0, 1, 3, 4))')
 WHERE type = 'table' AND name = 'openai_order';
PRAGMA writable_schema = RESET;

CREATE TABLE refund (
  id              INTEGER PRIMARY KEY,
  refund_id       TEXT    NOT NULL UNIQUE,  -- the out_request_no, reused on every retry
  -- Never two refunds of one order, whatever crashes or races happen.
  order_id        TEXT    NOT NULL UNIQUE REFERENCES openai_order (order_id),
  amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
  reason          TEXT    NOT NULL DEFAULT '',
  cause           TEXT    NOT NULL DEFAULT '',
  status          TEXT    NOT NULL CHECK (status IN ('requested', 'succeeded', 'failed')),
  quota_revoked   INTEGER NOT NULL DEFAULT 0 CHECK (quota_revoked >= 0),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT    NOT NULL DEFAULT '',
  requested_at    INTEGER NOT NULL,
  decided_at      INTEGER,
  updated_at      INTEGER NOT NULL
);
-- The refund-query job's sweep: equality column first, then the time range.
CREATE INDEX refund_due ON refund (status, requested_at);
