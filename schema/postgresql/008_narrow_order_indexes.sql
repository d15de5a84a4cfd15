-- Twin of schema/008_narrow_order_indexes.sql: the due and report indexes hold only the orders
-- they are searched for, and the per-user one leaves the status to the table (the partial
-- indexes are what saves work here: the update still changes indexed columns, so it is never
-- HOT, and every full index gets its new entry anyway).
-- DROP INDEX locks the table until the migration commits, and waits first behind any open
-- transaction on it while every node's writes queue behind the DROP: give up after 10 s instead
-- (the migration then fails whole and can be run again at a quieter moment).
SET LOCAL lock_timeout = '10s';
DROP INDEX openai_order_due;
CREATE INDEX openai_order_due ON openai_order (order_status, pay_status, order_time)
  WHERE order_status = 0 AND pay_status = 0;
DROP INDEX openai_order_paid_due;
CREATE INDEX openai_order_paid_due ON openai_order (order_status, pay_status, pay_time)
  WHERE order_status = 1 AND pay_status = 1;
DROP INDEX openai_order_user;
CREATE INDEX openai_order_user ON openai_order (openid, product_id, order_time);
DROP INDEX openai_order_pay_time;
CREATE INDEX openai_order_pay_time ON openai_order (pay_time) WHERE pay_time IS NOT NULL;
