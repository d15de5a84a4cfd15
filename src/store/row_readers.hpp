#pragma once
// Rows to records, shared by the backends: SQLite's Query and PostgreSQL's PgQuery read columns
// the same way (int64, text, is_null by index), and both select the same columns in this order.
#include <string>
#include <string_view>
#include <vector>

#include "core/order.hpp"
#include "core/refund.hpp"
#include "store/records.hpp"

namespace chatglmd::store::rows {

inline constexpr const char* kOrderColumns =
    "id, order_id, openid, product_id, product_name, product_quota, product_models, order_status, "
    "total_amount_fen, order_time, pay_time, trade_no, pay_info, attempts, next_attempt_at, "
    "last_error";

inline constexpr const char* kRefundColumns =
    "id, refund_id, order_id, amount_fen, reason, cause, status, quota_revoked, attempts, "
    "next_attempt_at, last_error, requested_at, decided_at";

inline constexpr const char* kProductSelect =
    "SELECT product_id, product_name, product_desc, quota, price_fen, product_model_types, "
    "is_enabled, sort FROM openai_product ";

// kOrderColumns qualified with the table name, for queries that join another table.
inline std::string qualified_order_columns() {
  std::string out;
  std::string_view rest = kOrderColumns;
  while (!rest.empty()) {
    const auto comma = rest.find(", ");
    out += (out.empty() ? "openai_order." : ", openai_order.");
    out += rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
  }
  return out;
}

template <typename Row>
core::Order read_order(const Row& st) {
  core::Order o;
  o.id = st.int64(0);
  o.order_id = st.text(1);
  o.openid = st.text(2);
  o.product_id = st.int64(3);
  o.product_name = st.text(4);
  o.quota = st.int64(5);
  o.model_types = st.text(6);
  o.state = static_cast<core::OrderState>(st.int64(7));
  o.amount = core::Fen{st.int64(8)};
  o.order_time = core::UtcMs{st.int64(9)};
  if (!st.is_null(10)) o.pay_time = core::UtcMs{st.int64(10)};
  o.trade_no = st.text(11);
  o.pay_info = st.text(12);
  o.attempts = static_cast<int>(st.int64(13));
  o.next_attempt_at = core::UtcMs{st.int64(14)};
  o.last_error = st.text(15);
  return o;
}

template <typename Rows>
std::vector<core::Order> read_orders(Rows& st) {
  std::vector<core::Order> out;
  while (st.step()) out.push_back(read_order(st));
  return out;
}

template <typename Row>
Refund read_refund(const Row& st) {
  Refund r;
  r.id = st.int64(0);
  r.refund_id = st.text(1);
  r.order_id = st.text(2);
  r.amount = core::Fen{st.int64(3)};
  r.reason = st.text(4);
  r.cause = st.text(5);
  r.status = core::parse_refund_status(st.text(6)).value_or(core::RefundStatus::Requested);
  r.quota_revoked = st.int64(7);
  r.attempts = static_cast<int>(st.int64(8));
  r.next_attempt_at = core::UtcMs{st.int64(9)};
  r.last_error = st.text(10);
  r.requested_at = core::UtcMs{st.int64(11)};
  if (!st.is_null(12)) r.decided_at = core::UtcMs{st.int64(12)};
  return r;
}

template <typename Row>
Product read_product(const Row& st) {
  Product p;
  p.product_id = st.int64(0);
  p.name = st.text(1);
  p.desc = st.text(2);
  p.quota = st.int64(3);
  p.price = core::Fen{st.int64(4)};
  p.model_types = st.text(5);
  p.enabled = st.int64(6) != 0;
  p.sort = static_cast<int>(st.int64(7));
  return p;
}

template <typename Row>
JobRunRow read_run(const Row& st) {
  JobRunRow r;
  r.id = st.int64(0);
  r.name = st.text(1);
  r.owner = st.text(2);
  r.started_at = core::UtcMs{st.int64(3)};
  r.finished_at = core::UtcMs{st.int64(4)};
  r.outcome = st.text(5);
  r.selected = static_cast<int>(st.int64(6));
  r.succeeded = static_cast<int>(st.int64(7));
  r.failed = static_cast<int>(st.int64(8));
  r.skipped = static_cast<int>(st.int64(9));
  r.detail = st.text(10);
  return r;
}

}  // namespace chatglmd::store::rows
