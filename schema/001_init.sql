-- chatglmd schema v1. Money in integer fen, times in UTC epoch milliseconds.

CREATE TABLE openai_product (
  id                  INTEGER PRIMARY KEY,
  product_id          INTEGER NOT NULL UNIQUE,
  product_name        TEXT    NOT NULL,
  product_desc        TEXT    NOT NULL DEFAULT '',
  quota               INTEGER NOT NULL CHECK (quota > 0),
  price_fen           INTEGER NOT NULL CHECK (price_fen > 0),
  product_model_types TEXT    NOT NULL DEFAULT '',
  is_enabled          INTEGER NOT NULL DEFAULT 1 CHECK (is_enabled IN (0, 1)),
  sort                INTEGER NOT NULL DEFAULT 0,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);

CREATE TABLE user_account (
  id            INTEGER PRIMARY KEY,
  openid        TEXT    NOT NULL UNIQUE,
  total_quota   INTEGER NOT NULL DEFAULT 0 CHECK (total_quota >= 0),
  surplus_quota INTEGER NOT NULL DEFAULT 0 CHECK (surplus_quota >= 0),
  model_types   TEXT    NOT NULL DEFAULT '',
  status        INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

CREATE TABLE openai_order (
  id               INTEGER PRIMARY KEY,
  order_id         TEXT    NOT NULL UNIQUE CHECK (length(order_id) = 12),
  openid           TEXT    NOT NULL,
  product_id       INTEGER NOT NULL,
  product_name     TEXT    NOT NULL,
  product_quota    INTEGER NOT NULL,
  product_models   TEXT    NOT NULL DEFAULT '',
  order_time       INTEGER NOT NULL,
  order_status     INTEGER NOT NULL DEFAULT 0 CHECK (order_status IN (0, 1, 2, 3)),
  pay_status       INTEGER NOT NULL DEFAULT 0 CHECK (pay_status IN (0, 1, 3)),
  total_amount_fen INTEGER NOT NULL CHECK (total_amount_fen > 0),
  pay_info         TEXT    NOT NULL DEFAULT '',
  pay_time         INTEGER,
  trade_no         TEXT    NOT NULL DEFAULT '',
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT    NOT NULL DEFAULT '',
  updated_at       INTEGER NOT NULL
);
-- Due-order sweeps: equality columns first, then the time range.
CREATE INDEX openai_order_due ON openai_order (order_status, pay_status, order_time);
CREATE INDEX openai_order_paid_due ON openai_order (order_status, pay_status, pay_time);
CREATE INDEX openai_order_user ON openai_order (openid, product_id, order_status, order_time);

CREATE TABLE order_event (
  id          INTEGER PRIMARY KEY,
  order_id    TEXT    NOT NULL REFERENCES openai_order (order_id),
  from_status INTEGER,
  to_status   INTEGER NOT NULL,
  cause       TEXT    NOT NULL,
  detail      TEXT    NOT NULL DEFAULT '',
  at          INTEGER NOT NULL
);
CREATE INDEX order_event_order ON order_event (order_id, id);
-- The audit log is append-only.
CREATE TRIGGER order_event_no_update BEFORE UPDATE ON order_event
BEGIN SELECT RAISE(ABORT, 'order_event is append-only'); END;
CREATE TRIGGER order_event_no_delete BEFORE DELETE ON order_event
BEGIN SELECT RAISE(ABORT, 'order_event is append-only'); END;

CREATE TABLE job_lease (
  name       TEXT    PRIMARY KEY,
  owner      TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
);

CREATE TABLE job_run (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL,
  owner       TEXT    NOT NULL,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  outcome     TEXT    NOT NULL,
  selected    INTEGER NOT NULL DEFAULT 0,
  succeeded   INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  skipped     INTEGER NOT NULL DEFAULT 0,
  detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX job_run_name ON job_run (name, id);

CREATE TABLE login_code (
  code       TEXT    PRIMARY KEY,
  openid     TEXT    NOT NULL,
  expires_at INTEGER NOT NULL,
  used       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX login_code_openid ON login_code (openid);

CREATE TABLE sensitive_word (
  id         INTEGER PRIMARY KEY,
  word       TEXT    NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);

CREATE TABLE user_whitelist (
  openid     TEXT    PRIMARY KEY,
  created_at INTEGER NOT NULL
);

CREATE TABLE pay_notify (
  id           INTEGER PRIMARY KEY,
  notify_id    TEXT    NOT NULL UNIQUE,
  out_trade_no TEXT    NOT NULL DEFAULT '',
  trade_status TEXT    NOT NULL DEFAULT '',
  verdict      TEXT    NOT NULL,
  raw_body     TEXT    NOT NULL,
  received_at  INTEGER NOT NULL,
  times_seen   INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX pay_notify_order ON pay_notify (out_trade_no);

-- A change counter per cached table, so readers can tell when to reload words and the whitelist.
CREATE TABLE change_stamp (
  name    TEXT    PRIMARY KEY,
  version INTEGER NOT NULL
);
INSERT INTO change_stamp (name, version) VALUES ('sensitive_word', 0), ('user_whitelist', 0);
