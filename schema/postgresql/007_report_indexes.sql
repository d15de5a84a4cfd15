-- The dashboard's report indexes (twin of schema/007_report_indexes.sql): revenue by pay_time,
-- the funnel by order_time, the newest rejected notifies by received_at (partial: they are few).
CREATE INDEX openai_order_pay_time ON openai_order (pay_time);
CREATE INDEX openai_order_order_time ON openai_order (order_time);
CREATE INDEX pay_notify_rejected ON pay_notify (received_at, id) WHERE verdict <> 'ok';
