#include "jobs/settlement.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "jobs/job_metrics.hpp"

namespace chatglmd::jobs {

std::string_view name_of(SettleOutcome o) {
  switch (o) {
    case SettleOutcome::Delivered:
      return "delivered";
    case SettleOutcome::AlreadyDelivered:
      return "already_delivered";
    case SettleOutcome::AmountMismatch:
      return "amount_mismatch";
    case SettleOutcome::UnknownOrder:
      return "unknown_order";
  }
  return "unknown";
}

namespace {

void announce_delivery(const std::string& order_id, core::Cause cause) {
  JobMetrics::global().deliveries(core::name_of(cause)).inc();
  spdlog::info("order {} delivered ({})", order_id, core::name_of(cause));
}

}  // namespace

store::DeliveryOutcome deliver(store::Store& store, const std::string& order_id, core::Cause cause,
                               core::UtcMs now) {
  // The store's deliver() commits before it returns (no transaction is open here).
  auto out = store.orders().deliver(order_id, cause, now);
  if (out == store::DeliveryOutcome::Delivered) announce_delivery(order_id, cause);
  return out;
}

SettleResult record_payment(store::Store& store, const PaymentConfirmation& payment,
                            core::Cause cause, core::UtcMs now) {
  SettleResult result{SettleOutcome::UnknownOrder, false, payment.order_id, payment.trade_no,
                      cause};
  auto order = store.orders().get(payment.order_id);
  if (!order) return result;
  if (payment.amount != order->amount) {
    // Integer fen, exact: a different amount is not this order's payment. Logged at once: it
    // is about what the gateway said, true whether or not anything commits.
    spdlog::error("order {}: gateway reports {} fen paid, order is {} fen; not delivering",
                  payment.order_id, payment.amount.value, order->amount.value);
    result.outcome = SettleOutcome::AmountMismatch;
    return result;
  }
  result.outcome = SettleOutcome::AlreadyDelivered;
  auto t = store.orders().apply(payment.order_id, core::OrderEvent::PaymentConfirmed, cause,
                                fmt::format("trade_no={}", payment.trade_no), now,
                                store::PaymentFacts{payment.trade_no, payment.paid_at});
  result.late_payment = t.outcome == store::TransitionOutcome::Applied && t.late_payment;
  // Refused means it is PAID or DELIVERED already; delivery below is idempotent either way.
  if (store.orders().deliver(payment.order_id, cause, now) == store::DeliveryOutcome::Delivered)
    result.outcome = SettleOutcome::Delivered;
  return result;
}

void announce_settlement(const SettleResult& r) {
  if (r.late_payment) {
    JobMetrics::global().late_payments().inc();
    spdlog::warn("order {} was closed but has been paid (trade {}); delivering", r.order_id,
                 r.trade_no);
  }
  if (r.outcome == SettleOutcome::Delivered) announce_delivery(r.order_id, r.cause);
}

SettleResult settle_payment(store::Store& store, const PaymentConfirmation& payment,
                            core::Cause cause, core::UtcMs now) {
  SettleResult result;
  store.in_transaction([&] { result = record_payment(store, payment, cause, now); });
  announce_settlement(result);
  return result;
}

}  // namespace chatglmd::jobs
