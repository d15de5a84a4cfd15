#include <fmt/format.h>

#include "store/pg_repos.hpp"
#include "store/row_readers.hpp"

namespace chatglmd::store {
using rows::kOrderColumns;
using rows::qualified_order_columns;
using rows::read_order;
using rows::read_orders;
namespace {

using core::Order;
using core::OrderState;
using core::UtcMs;

std::string sql(const char* tail) {
  return fmt::format("SELECT {} FROM openai_order {}", kOrderColumns, tail);
}

// kOrderColumns qualified with the table name, for queries that join another table.
// The due queries, kept in one place so the plan check (EXPLAIN) sees what runs.
const std::string kDueCreated =
    sql("WHERE order_status = 0 AND pay_status = 0 AND order_time >= $1 AND order_time <= $2 "
        "AND next_attempt_at <= $3 AND id > $4 ORDER BY id LIMIT $5");
const std::string kDuePaid =
    sql("WHERE order_status = 1 AND pay_status = 1 AND pay_time <= $1 "
        "AND next_attempt_at <= $2 AND id > $3 ORDER BY id LIMIT $4");
// merge_models (sqlite_accounts.cpp) in SQL, for `have` and `add` given as SQL text: the
// non-empty items of both comma-separated lists, each once, in the order they first appear.
// Compared byte for byte (COLLATE "C"), as merge_models compares, whatever collation an
// operator gave the column.
std::string merged_models_sql(const char* have, const char* add) {
  return fmt::format(
      "(SELECT coalesce(string_agg(item, ',' ORDER BY pos), '') FROM (SELECT item, min(n) AS pos "
      "FROM unnest(string_to_array(({} || ',' || {}) COLLATE \"C\", ',')) "
      "WITH ORDINALITY AS t(item, n) WHERE item <> '' GROUP BY item) AS items)",
      have, add);
}

// A notify's whole step from CREATED to DELIVERED, in one statement and so one round trip: the
// compare-and-set (under READ COMMITTED a second node's same UPDATE waits for this one's row
// lock, then finds the order no longer CREATED and matches nothing), the two audit rows (the
// second made from what the first returned, so its id is drawn after the first's), and the
// grant: the account created with the order's quota and models, or, when it exists (even
// committed by another node after this transaction began: the upsert then locks and reads its
// latest version), added to. Everything but the UPDATE reads `moved`, so nothing else happens
// when it matched nothing. $1 order id, $2 pay time, $3 trade no, $4 now, $5 cause, $6 and $7
// the audit details, $8 openid, $9 quota, $10 models.
const std::string kPayAndDeliverCreated = fmt::format(
    "WITH moved AS (UPDATE openai_order SET order_status = 2, pay_status = 1, pay_time = $2, "
    "trade_no = $3, attempts = 0, next_attempt_at = 0, last_error = '', updated_at = $4 "
    "WHERE order_id = $1 AND order_status = 0 RETURNING order_id), "
    "paid AS (INSERT INTO order_event (order_id, from_status, to_status, cause, detail, at) "
    "SELECT order_id, 0, 1, $5, $6, $4 FROM moved RETURNING order_id), "
    "delivered AS (INSERT INTO order_event (order_id, from_status, to_status, cause, detail, at) "
    "SELECT order_id, 1, 2, $5, $7, $4 FROM paid), "
    "granted AS (INSERT INTO user_account AS a (openid, total_quota, surplus_quota, model_types, "
    "status, created_at, updated_at) SELECT $8, $9, $9, {}, 0, $4, $4 FROM moved "
    "ON CONFLICT (openid) DO UPDATE SET total_quota = a.total_quota + EXCLUDED.total_quota, "
    "surplus_quota = a.surplus_quota + EXCLUDED.surplus_quota, model_types = {}, "
    "updated_at = EXCLUDED.updated_at) "
    "SELECT count(*) FROM moved",
    merged_models_sql("''", "$10::text"),
    merged_models_sql("a.model_types", "EXCLUDED.model_types"));
const std::string kBacklogCreated =
    "SELECT count(*), min(order_time) FROM openai_order WHERE order_status = 0 AND pay_status = 0 "
    "AND order_time >= $1 AND order_time <= $2";
const std::string kBacklogPaid =
    "SELECT count(*), min(pay_time) FROM openai_order WHERE order_status = 1 AND pay_status = 1 "
    "AND pay_time <= $1";
const std::string kDueCloseFollowups = fmt::format(
    "SELECT {} FROM close_followup JOIN openai_order "
    "ON openai_order.order_id = close_followup.order_id "
    "WHERE close_followup.pending = 1 AND close_followup.next_query_at <= $1 "
    "AND openai_order.next_attempt_at <= $2 AND openai_order.id > $3 "
    "ORDER BY openai_order.id LIMIT $4",
    qualified_order_columns());
const std::string kBacklogCloseFollowups =
    "SELECT count(*), min(next_query_at) FROM close_followup "
    "WHERE pending = 1 AND next_query_at <= $1";

}  // namespace

bool PgOrders::insert(const Order& order, UtcMs now) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  const int inserted =
      db_.prepare(
             "INSERT INTO openai_order (order_id, openid, product_id, product_name, "
             "product_quota, product_models, order_time, order_status, pay_status, "
             "total_amount_fen, pay_info, updated_at) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $9, $10) "
             "ON CONFLICT (order_id) DO NOTHING")
          .bind(1, order.order_id)
          .bind(2, order.openid)
          .bind(3, order.product_id)
          .bind(4, order.product_name)
          .bind(5, order.quota)
          .bind(6, order.model_types)
          .bind(7, order.order_time.ms)
          .bind(8, order.amount.value)
          .bind(9, order.pay_info)
          .bind(10, now.ms)
          .exec();
  if (inserted != 1) return false;
  audit_locked(order.order_id, std::nullopt, OrderState::Created, core::Cause::CreateOrder, "",
               now);
  tx.commit();
  return true;
}

std::optional<Order> PgOrders::get(const std::string& order_id) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(sql("WHERE order_id = $1"));
  st.bind(1, order_id);
  if (!st.step()) return std::nullopt;
  return read_order(st);
}

std::vector<Order> PgOrders::list(const OrderFilter& filter) {
  std::lock_guard lock(db_.mutex());
  auto st =
      db_.prepare(sql("WHERE ($1::integer IS NULL OR order_status = $1::integer) "
                      "AND ($2::text IS NULL OR openid = $2::text) "
                      "ORDER BY id DESC LIMIT $3"));
  if (filter.state) {
    st.bind(1, static_cast<std::int64_t>(*filter.state));
  } else {
    st.bind_null(1);
  }
  if (filter.openid) {
    st.bind(2, *filter.openid);
  } else {
    st.bind_null(2);
  }
  st.bind(3, filter.limit);
  return read_orders(st);
}

std::optional<Order> PgOrders::find_reusable(const std::string& openid, std::int64_t product_id,
                                             UtcMs not_before) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      sql("WHERE openid = $1 AND product_id = $2 AND order_status = 0 AND order_time >= $3 "
          "ORDER BY order_time DESC, id DESC LIMIT 1"));
  st.bind(1, openid).bind(2, product_id).bind(3, not_before.ms);
  if (!st.step()) return std::nullopt;
  return read_order(st);
}

void PgOrders::set_pay_info(const std::string& order_id, const std::string& pay_info, UtcMs now) {
  std::lock_guard lock(db_.mutex());
  db_.prepare("UPDATE openai_order SET pay_info = $2, updated_at = $3 WHERE order_id = $1")
      .bind(1, order_id)
      .bind(2, pay_info)
      .bind(3, now.ms)
      .exec();
}

// Locks the row until the transaction ends: the decision made on this state holds.
std::optional<OrderState> PgOrders::state_locked(const std::string& order_id) {
  auto st = db_.prepare("SELECT order_status FROM openai_order WHERE order_id = $1 FOR UPDATE");
  st.bind(1, order_id);
  if (!st.step()) return std::nullopt;
  return static_cast<OrderState>(st.int64(0));
}

void append_order_event(PgConn& db, const std::string& order_id, std::optional<OrderState> from,
                        OrderState to, core::Cause cause, const std::string& detail, UtcMs now) {
  auto st = db.prepare(
      "INSERT INTO order_event (order_id, from_status, to_status, cause, detail, at) "
      "VALUES ($1, $2, $3, $4, $5, $6)");
  st.bind(1, order_id);
  if (from) {
    st.bind(2, static_cast<std::int64_t>(*from));
  } else {
    st.bind_null(2);
  }
  st.bind(3, static_cast<std::int64_t>(to))
      .bind(4, core::name_of(cause))
      .bind(5, detail)
      .bind(6, now.ms);
  st.exec();
}

void PgOrders::audit_locked(const std::string& order_id, std::optional<OrderState> from,
                            OrderState to, core::Cause cause, const std::string& detail,
                            UtcMs now) {
  append_order_event(db_, order_id, from, to, cause, detail, now);
}

TransitionResult PgOrders::apply(const std::string& order_id, core::OrderEvent event,
                                 core::Cause cause, const std::string& detail, UtcMs now,
                                 const std::optional<PaymentFacts>& payment) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  auto current = state_locked(order_id);
  if (!current) return {TransitionOutcome::UnknownOrder, OrderState::Created, false};
  auto t = core::next_transition(*current, event);
  if (!t) return {TransitionOutcome::Refused, *current, false};
  if (event == core::OrderEvent::PaymentConfirmed && !payment)
    throw StoreError("PaymentConfirmed needs payment facts", kPgErrorCode);
  auto st = db_.prepare(
      "UPDATE openai_order SET order_status = $3, pay_status = $4, "
      "pay_time = coalesce($5::bigint, pay_time), trade_no = coalesce($6::text, trade_no), "
      "attempts = 0, next_attempt_at = 0, last_error = '', updated_at = $7 "
      "WHERE order_id = $1 AND order_status = $2");
  st.bind(1, order_id)
      .bind(2, static_cast<std::int64_t>(t->from))
      .bind(3, static_cast<std::int64_t>(t->to))
      .bind(4, core::pay_status_of(t->to));
  if (payment) {
    st.bind(5, payment->paid_at.ms).bind(6, payment->trade_no);
  } else {
    st.bind_null(5).bind_null(6);
  }
  st.bind(7, now.ms);
  if (st.exec() != 1) return {TransitionOutcome::LostRace, *state_locked(order_id), false};
  std::string audit_detail = detail;
  if (t->late_payment) audit_detail = "late payment: " + detail;
  audit_locked(order_id, t->from, t->to, cause, audit_detail, now);
  tx.commit();
  return {TransitionOutcome::Applied, t->to, t->late_payment};
}

DeliveryOutcome PgOrders::deliver(const std::string& order_id, core::Cause cause, UtcMs now) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  auto st = db_.prepare(
      "SELECT order_status, openid, product_quota, product_models FROM openai_order "
      "WHERE order_id = $1 FOR UPDATE");
  st.bind(1, order_id);
  if (!st.step()) return DeliveryOutcome::UnknownOrder;
  auto state = static_cast<OrderState>(st.int64(0));
  std::string openid = st.text(1);
  std::int64_t quota = st.int64(2);
  std::string models = st.text(3);
  if (state == OrderState::Delivered) return DeliveryOutcome::AlreadyDelivered;
  if (!core::next_transition(state, core::OrderEvent::QuotaGranted))
    return DeliveryOutcome::NotPaid;
  // A PAID order whose refund is under way (a late payment refunded by policy) must not get
  // the quota its money is leaving with; a refund that failed for good lets delivery go on.
  auto refund = db_.prepare("SELECT 1 FROM refund WHERE order_id = $1 AND status = 'requested'");
  if (refund.bind(1, order_id).step()) return DeliveryOutcome::RefundPending;
  // The compare-and-set guards the grant: both happen in this transaction or neither does.
  int moved = db_.prepare(
                     "UPDATE openai_order SET order_status = 2, pay_status = 1, attempts = 0, "
                     "next_attempt_at = 0, last_error = '', updated_at = $2 "
                     "WHERE order_id = $1 AND order_status = 1")
                  .bind(1, order_id)
                  .bind(2, now.ms)
                  .exec();
  if (moved != 1) return DeliveryOutcome::AlreadyDelivered;
  grant_locked(db_, openid, quota, models, now.ms);
  audit_locked(order_id, OrderState::Paid, OrderState::Delivered, cause,
               fmt::format("granted {} quota to {}", quota, openid), now);
  tx.commit();
  return DeliveryOutcome::Delivered;
}

std::optional<DeliveryOutcome> PgOrders::pay_and_deliver_created(const Order& order,
                                                                 core::Cause cause,
                                                                 const std::string& detail,
                                                                 UtcMs now,
                                                                 const PaymentFacts& payment) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  // As on SQLite: one compare-and-set from CREATED straight to the delivered row, both
  // transitions audited, the grant from the order as the caller read it (its openid, quota and
  // models never change). One statement (kPayAndDeliverCreated), where apply() and then
  // deliver() took about 16 round trips on the committer's one connection: they read the order
  // twice more, look for a refund a CREATED order cannot have, and each open a savepoint.
  auto st = db_.prepare(kPayAndDeliverCreated);
  st.bind(1, order.order_id)
      .bind(2, payment.paid_at.ms)
      .bind(3, payment.trade_no)
      .bind(4, now.ms)
      .bind(5, core::name_of(cause))
      .bind(6, detail)
      .bind(7, fmt::format("granted {} quota to {}", order.quota, order.openid))
      .bind(8, order.openid)
      .bind(9, order.quota)
      .bind(10, order.model_types);
  if (!st.step() || st.int64(0) != 1) return std::nullopt;
  tx.commit();
  return DeliveryOutcome::Delivered;
}

std::vector<Order> PgOrders::due_created(UtcMs placed_from, UtcMs placed_until, UtcMs now,
                                         std::int64_t after_id, int limit) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(kDueCreated);
  st.bind(1, placed_from.ms)
      .bind(2, placed_until.ms)
      .bind(3, now.ms)
      .bind(4, after_id)
      .bind(5, limit);
  return read_orders(st);
}

std::vector<Order> PgOrders::due_paid(UtcMs paid_until, UtcMs now, std::int64_t after_id,
                                      int limit) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(kDuePaid);
  st.bind(1, paid_until.ms).bind(2, now.ms).bind(3, after_id).bind(4, limit);
  return read_orders(st);
}

OrderRepository::Backlog PgOrders::backlog_created(UtcMs placed_from, UtcMs placed_until) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(kBacklogCreated);
  st.bind(1, placed_from.ms).bind(2, placed_until.ms);
  st.step();
  Backlog b{st.int64(0), std::nullopt};
  if (!st.is_null(1)) b.oldest = UtcMs{st.int64(1)};
  return b;
}

OrderRepository::Backlog PgOrders::backlog_paid(UtcMs paid_until) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(kBacklogPaid);
  st.bind(1, paid_until.ms);
  st.step();
  Backlog b{st.int64(0), std::nullopt};
  if (!st.is_null(1)) b.oldest = UtcMs{st.int64(1)};
  return b;
}

void PgOrders::add_close_followup(const std::string& order_id, UtcMs time_expire, UtcMs closed_at) {
  std::lock_guard lock(db_.mutex());
  db_.prepare(
         "INSERT INTO close_followup (order_id, time_expire, closed_at, next_query_at) "
         "VALUES ($1, $2, $3, $2) ON CONFLICT (order_id) DO NOTHING")
      .bind(1, order_id)
      .bind(2, time_expire.ms)
      .bind(3, closed_at.ms)
      .exec();
}

std::vector<Order> PgOrders::due_close_followups(UtcMs due_until, UtcMs now, std::int64_t after_id,
                                                 int limit) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(kDueCloseFollowups);
  st.bind(1, due_until.ms).bind(2, now.ms).bind(3, after_id).bind(4, limit);
  return read_orders(st);
}

OrderRepository::Backlog PgOrders::backlog_close_followups(UtcMs due_until) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(kBacklogCloseFollowups);
  st.bind(1, due_until.ms);
  st.step();
  Backlog b{st.int64(0), std::nullopt};
  if (!st.is_null(1)) b.oldest = UtcMs{st.int64(1)};
  return b;
}

void PgOrders::record_close_followup(const std::string& order_id, const std::string& answer,
                                     std::optional<UtcMs> next) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  auto st = db_.prepare(
      "UPDATE close_followup SET queries_done = queries_done + 1, last_answer = $2, "
      "pending = $3, next_query_at = coalesce($4::bigint, next_query_at) WHERE order_id = $1");
  st.bind(1, order_id).bind(2, answer.substr(0, 500)).bind(3, next ? 1 : 0);
  if (next) {
    st.bind(4, next->ms);
  } else {
    st.bind_null(4);
  }
  st.exec();
  // A clear answer ends the backoff an unclear one left on a still closed order.
  db_.prepare(
         "UPDATE openai_order SET attempts = 0, next_attempt_at = 0, last_error = '' "
         "WHERE order_id = $1 AND order_status = 3")
      .bind(1, order_id)
      .exec();
  tx.commit();
}

std::optional<CloseFollowup> PgOrders::close_followup(const std::string& order_id) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "SELECT order_id, time_expire, closed_at, next_query_at, queries_done, pending, "
      "last_answer FROM close_followup WHERE order_id = $1");
  st.bind(1, order_id);
  if (!st.step()) return std::nullopt;
  return CloseFollowup{st.text(0),
                       UtcMs{st.int64(1)},
                       UtcMs{st.int64(2)},
                       UtcMs{st.int64(3)},
                       static_cast<int>(st.int64(4)),
                       st.int64(5) == 1,
                       st.text(6)};
}

void PgOrders::record_failure(const std::string& order_id, core::OrderState expected,
                              const std::string& error, UtcMs next_attempt_at) {
  std::lock_guard lock(db_.mutex());
  db_.prepare(
         "UPDATE openai_order SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 "
         "WHERE order_id = $1 AND order_status = $4")
      .bind(1, order_id)
      .bind(2, next_attempt_at.ms)
      .bind(3, error.substr(0, 500))
      .bind(4, static_cast<std::int64_t>(expected))
      .exec();
}

std::vector<OrderEventRow> PgOrders::events(const std::string& order_id) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "SELECT order_id, from_status, to_status, cause, detail, at FROM order_event "
      "WHERE order_id = $1 ORDER BY id");
  st.bind(1, order_id);
  std::vector<OrderEventRow> out;
  while (st.step()) {
    OrderEventRow e;
    e.order_id = st.text(0);
    if (!st.is_null(1)) e.from = static_cast<OrderState>(st.int64(1));
    e.to = static_cast<OrderState>(st.int64(2));
    e.cause = st.text(3);
    e.detail = st.text(4);
    e.at = UtcMs{st.int64(5)};
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> PgOrders::due_query_plans() {
  std::lock_guard lock(db_.mutex());
  std::vector<std::string> plans;
  for (const std::string& q : {kDueCreated, kDuePaid, kBacklogCreated, kBacklogPaid,
                               kDueCloseFollowups, kBacklogCloseFollowups}) {
    auto st = db_.prepare("EXPLAIN " + q);
    std::string plan;
    while (st.step()) plan += st.text(0) + "\n";
    plans.push_back(plan);
  }
  return plans;
}

}  // namespace chatglmd::store
