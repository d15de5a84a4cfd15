-- Budgets that several nodes count once (chat rate limit, free chats, failed logins, WeChat
-- nonces): one fixed window per (name, key). Only the PostgreSQL backend uses it (schema/postgresql/005_shared_counters.sql);
-- a SQLite store serves one process, which keeps these counters in memory. The table exists here
-- too so both backends keep the same tables under the same numbers.

CREATE TABLE shared_counter (
  name         TEXT    NOT NULL,
  key          TEXT    NOT NULL,
  window_start INTEGER NOT NULL,  -- UTC ms of the window's first count
  count        INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,  -- window_start + the window: a row past it may be swept
  PRIMARY KEY (name, key)
);
