-- A paid notify moves its order CREATED -> DELIVERED in one UPDATE, and every index whose key
-- holds order_status, pay_status or pay_time is rewritten by it: each a random page more in the
-- WAL of every commit. The due sweeps read only CREATED (and PAID) orders and the reports only
-- paid ones, so those indexes now hold only the orders they are searched for (partial), and
-- the per-user index leaves the status to the table: a delivered order then costs a delete in
-- the due index and an insert in the pay-time one instead of three deletes and four inserts. The names stay, so do the query plans.
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
