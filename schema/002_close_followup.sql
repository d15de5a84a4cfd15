-- chatglmd schema v2: the follow-up of orders closed here on ACQ.TRADE_NOT_EXIST.
-- Alipay can still create (and take money for) such a trade until the order's time_expire, so the
-- close-followup job asks about each one again after that, then once a day for a few days.
-- A table of its own: openai_order keeps its shape.

CREATE TABLE close_followup (
  order_id      TEXT    PRIMARY KEY REFERENCES openai_order (order_id),
  time_expire   INTEGER NOT NULL,           -- the time_expire the pay request carried (UTC ms)
  closed_at     INTEGER NOT NULL,
  next_query_at INTEGER NOT NULL,           -- due from here (plus the job's `after`)
  queries_done  INTEGER NOT NULL DEFAULT 0,
  pending       INTEGER NOT NULL DEFAULT 1 CHECK (pending IN (0, 1)),  -- 0: never asked again
  last_answer   TEXT    NOT NULL DEFAULT ''
);
-- Due follow-ups: the equality column first, then the time range.
CREATE INDEX close_followup_due ON close_followup (pending, next_query_at);

-- Orders closed on TRADE_NOT_EXIST by an older chatglmd in the last 7 days: their time_expire is
-- unknown (none was sent), so they are asked from the upgrade on.
INSERT OR IGNORE INTO close_followup (order_id, time_expire, closed_at, next_query_at)
SELECT e.order_id, e.at, e.at, e.at
FROM order_event e JOIN openai_order o ON o.order_id = e.order_id
WHERE e.to_status = 3 AND o.order_status = 3 AND e.detail LIKE '%TRADE_NOT_EXIST%'
  AND e.at >= (CAST(strftime('%s', 'now') AS INTEGER) - 7 * 86400) * 1000;
