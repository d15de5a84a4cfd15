// The refund table: one full refund per order, the quota it takes back, and its decision.
#include <fmt/format.h>

#include "store/row_readers.hpp"
#include "store/sqlite_repos.hpp"

namespace chatglmd::store {
using rows::kRefundColumns;
using rows::read_refund;
namespace {

using core::OrderState;
using core::RefundStatus;
using core::UtcMs;

std::string sql(const char* tail) {
  return fmt::format("SELECT {} FROM refund {}", kRefundColumns, tail);
}

// The due query, kept in one place so the plan test checks what runs.
const std::string kDue =
    sql("WHERE status = 'requested' AND requested_at <= ?1 AND next_attempt_at <= ?2 AND id > ?3 "
        "ORDER BY id LIMIT ?4");
const std::string kBacklog =
    "SELECT count(*), min(requested_at) FROM refund WHERE status = 'requested' AND "
    "requested_at <= ?1";

// requested -> `to`, compare-and-set; true when this call decided it.
bool decide_locked(Db& db, const std::string& order_id, RefundStatus to, const std::string& detail,
                   UtcMs now) {
  return db.prepare(
               "UPDATE refund SET status = ?2, decided_at = ?3, updated_at = ?3, last_error = ?4 "
               "WHERE order_id = ?1 AND status = 'requested'")
             .bind(1, order_id)
             .bind(2, core::name_of(to))
             .bind(3, now.ms)
             .bind(4, detail.substr(0, 500))
             .exec() == 1;
}

}  // namespace

std::optional<Refund> SqliteRefunds::get_locked(const std::string& order_id) {
  static const std::string by_id = sql("WHERE order_id = ?1");  // built once, not per call
  auto st = db_.prepare(by_id);
  st.bind(1, order_id);
  if (!st.step()) return std::nullopt;
  return read_refund(st);
}

std::optional<Refund> SqliteRefunds::get(const std::string& order_id) {
  std::lock_guard lock(db_.mutex());
  return get_locked(order_id);
}

RefundRequestResult SqliteRefunds::request(const std::string& order_id, const std::string& reason,
                                           core::Cause cause, UtcMs now, UtcMs next_attempt_at) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  auto order = db_.prepare(
      "SELECT order_status, openid, product_quota, total_amount_fen FROM openai_order "
      "WHERE order_id = ?1");
  order.bind(1, order_id);
  if (!order.step()) return {RefundRequestOutcome::UnknownOrder, OrderState::Created, {}};
  const auto state = static_cast<OrderState>(order.int64(0));
  const std::string openid = order.text(1);
  const std::int64_t order_quota = order.int64(2);
  const core::Fen amount{order.int64(3)};
  if (auto existing = get_locked(order_id))
    return {RefundRequestOutcome::AlreadyRequested, state, existing};
  if (!core::next_transition(state, core::OrderEvent::RefundConfirmed))
    return {RefundRequestOutcome::NotRefundable, state, {}};

  // Only a delivered order granted quota. Read and written in this IMMEDIATE transaction, so a
  // chat spending the last chat either comes before (less is revoked) or after (it is refused).
  std::int64_t revoked = 0;
  if (state == OrderState::Delivered) {
    auto account = db_.prepare("SELECT surplus_quota FROM user_account WHERE openid = ?1");
    account.bind(1, openid);
    if (account.step()) revoked = core::quota_to_revoke(order_quota, account.int64(0));
  }
  if (revoked > 0) {
    db_.prepare(
           "UPDATE user_account SET surplus_quota = surplus_quota - ?2, "
           "total_quota = total_quota - ?2, updated_at = ?3 WHERE openid = ?1")
        .bind(1, openid)
        .bind(2, revoked)
        .bind(3, now.ms)
        .exec();
  }
  const std::string refund_id = core::refund_request_no(order_id);
  db_.prepare(
         "INSERT INTO refund (refund_id, order_id, amount_fen, reason, cause, status, "
         "quota_revoked, next_attempt_at, requested_at, updated_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5, 'requested', ?6, ?7, ?8, ?8)")
      .bind(1, refund_id)
      .bind(2, order_id)
      .bind(3, amount.value)
      .bind(4, reason)
      .bind(5, core::name_of(cause))
      .bind(6, revoked)
      .bind(7, next_attempt_at.ms)
      .bind(8, now.ms)
      .exec();
  append_order_event(
      db_, order_id, state, state, cause,
      fmt::format("refund {} requested: {} fen, {} quota taken back from {}{}", refund_id,
                  amount.value, revoked, openid, reason.empty() ? "" : "; reason: " + reason),
      now);
  auto refund = get_locked(order_id);
  tx.commit();
  return {RefundRequestOutcome::Requested, state, refund};
}

RefundDecision SqliteRefunds::confirm(const std::string& order_id, core::Cause cause,
                                      const std::string& detail, UtcMs now) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  const auto refund = get_locked(order_id);
  if (!refund) return RefundDecision::UnknownRefund;
  auto st = db_.prepare("SELECT order_status FROM openai_order WHERE order_id = ?1");
  st.bind(1, order_id);
  if (!st.step()) throw StoreError("refund of a vanished order " + order_id, SQLITE_CONSTRAINT);
  const auto from = static_cast<OrderState>(st.int64(0));
  if (refund->status == RefundStatus::Failed) {
    // The quota went back when it failed; the books must show that the money left too.
    append_order_event(
        db_, order_id, from, from, cause,
        fmt::format("refund {} confirmed by Alipay ({}) after it was recorded failed; the {} "
                    "quota given back is still with the account",
                    refund->refund_id, detail, refund->quota_revoked),
        now);
    tx.commit();
    return RefundDecision::ConfirmedAfterFailure;
  }
  if (!decide_locked(db_, order_id, RefundStatus::Succeeded, "", now))
    return RefundDecision::AlreadyDecided;
  auto t = core::next_transition(from, core::OrderEvent::RefundConfirmed);
  // Delivery waits for a requested refund and nothing else leaves PAID or DELIVERED: a refund
  // confirmed for an order in another state is a broken invariant, not an outcome.
  if (!t)
    throw StoreError(
        fmt::format("refund confirmed for order {} in state {}", order_id, core::name_of(from)),
        SQLITE_CONSTRAINT);
  db_.prepare(
         "UPDATE openai_order SET order_status = ?3, pay_status = ?4, attempts = 0, "
         "next_attempt_at = 0, last_error = '', updated_at = ?5 "
         "WHERE order_id = ?1 AND order_status = ?2")
      .bind(1, order_id)
      .bind(2, static_cast<std::int64_t>(t->from))
      .bind(3, static_cast<std::int64_t>(t->to))
      .bind(4, core::pay_status_of(t->to))
      .bind(5, now.ms)
      .exec();
  append_order_event(db_, order_id, t->from, t->to, cause, detail, now);
  tx.commit();
  return RefundDecision::Applied;
}

RefundDecision SqliteRefunds::fail(const std::string& order_id, core::Cause cause,
                                   const std::string& detail, UtcMs now) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  auto refund = get_locked(order_id);
  if (!refund) return RefundDecision::UnknownRefund;
  if (!decide_locked(db_, order_id, RefundStatus::Failed, detail, now))
    return RefundDecision::AlreadyDecided;
  auto st = db_.prepare("SELECT order_status, openid FROM openai_order WHERE order_id = ?1");
  st.bind(1, order_id);
  if (!st.step()) throw StoreError("refund of a vanished order " + order_id, SQLITE_CONSTRAINT);
  const auto state = static_cast<OrderState>(st.int64(0));
  const std::string openid = st.text(1);
  if (refund->quota_revoked > 0) {
    db_.prepare(
           "UPDATE user_account SET surplus_quota = surplus_quota + ?2, "
           "total_quota = total_quota + ?2, updated_at = ?3 WHERE openid = ?1")
        .bind(1, openid)
        .bind(2, refund->quota_revoked)
        .bind(3, now.ms)
        .exec();
  }
  append_order_event(db_, order_id, state, state, cause,
                     fmt::format("refund {} failed for good ({}); {} quota given back to {}",
                                 refund->refund_id, detail, refund->quota_revoked, openid),
                     now);
  tx.commit();
  return RefundDecision::Applied;
}

void SqliteRefunds::record_failure(const std::string& order_id, const std::string& error,
                                   UtcMs next_attempt_at) {
  std::lock_guard lock(db_.mutex());
  db_.prepare(
         "UPDATE refund SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 "
         "WHERE order_id = ?1 AND status = 'requested'")
      .bind(1, order_id)
      .bind(2, next_attempt_at.ms)
      .bind(3, error.substr(0, 500))
      .exec();
}

std::vector<Refund> SqliteRefunds::due(UtcMs requested_until, UtcMs now, std::int64_t after_id,
                                       int limit) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(kDue);
  st.bind(1, requested_until.ms).bind(2, now.ms).bind(3, after_id).bind(4, limit);
  std::vector<Refund> out;
  while (st.step()) out.push_back(read_refund(st));
  return out;
}

OrderRepository::Backlog SqliteRefunds::backlog(UtcMs requested_until) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(kBacklog);
  st.bind(1, requested_until.ms);
  st.step();
  OrderRepository::Backlog b{st.int64(0), std::nullopt};
  if (!st.is_null(1)) b.oldest = UtcMs{st.int64(1)};
  return b;
}

std::int64_t SqliteRefunds::count(RefundStatus status) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare("SELECT count(*) FROM refund WHERE status = ?1");
  st.bind(1, core::name_of(status));
  st.step();
  return st.int64(0);
}

}  // namespace chatglmd::store
