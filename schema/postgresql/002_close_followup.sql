-- chatglmd schema v2 on PostgreSQL: the twin of schema/002_close_followup.sql. No older chatglmd
-- ever wrote a PostgreSQL store, so the SQLite migration's back-fill has nothing to find here.

CREATE TABLE close_followup (
  order_id      text    PRIMARY KEY REFERENCES openai_order (order_id),
  time_expire   bigint  NOT NULL,
  closed_at     bigint  NOT NULL,
  next_query_at bigint  NOT NULL,
  queries_done  integer NOT NULL DEFAULT 0,
  pending       integer NOT NULL DEFAULT 1 CHECK (pending IN (0, 1)),
  last_answer   text    NOT NULL DEFAULT ''
);
CREATE INDEX close_followup_due ON close_followup (pending, next_query_at);
