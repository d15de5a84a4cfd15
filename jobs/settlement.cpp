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
    case SettleOutcome::RefundQueued:
      return "refund_queued";
  }
  return "unknown";
}

store::DeliveryOutcome deliver(store::Store& store, const std::string& order_id, core::Cause cause,
                               core::UtcMs now) {
  auto out = store.orders().deliver(order_id, cause, now);
  if (out == store::DeliveryOutcome::Delivered) {
    JobMetrics::global().deliveries(core::name_of(cause)).inc();
    spdlog::info("order {} delivered ({})", order_id, core::name_of(cause));
  }
  return out;
}

SettleResult settle_payment(store::Store& store, const PaymentConfirmation& payment,
                            core::Cause cause, core::UtcMs now,
                            core::LatePaymentPolicy late_payment) {
  auto order = store.orders().get(payment.order_id);
  if (!order) return {SettleOutcome::UnknownOrder, false};
  if (payment.amount != order->amount) {
    // Integer fen, exact: a different amount is not this order's payment.
    spdlog::error("order {}: gateway reports {} fen paid, order is {} fen; not delivering",
                  payment.order_id, payment.amount.value, order->amount.value);
    return {SettleOutcome::AmountMismatch, false};
  }
  SettleResult result{SettleOutcome::AlreadyDelivered, false};
  const bool refund_late = late_payment == core::LatePaymentPolicy::Refund;
  store::TransitionResult t;
  // PAID and the refund request of a late payment commit together: a crash between them must
  // not leave a PAID order that replenish-shipment would deliver against the policy.
  store.in_transaction([&] {
    t = store.orders().apply(payment.order_id, core::OrderEvent::PaymentConfirmed, cause,
                             fmt::format("trade_no={}", payment.trade_no), now,
                             store::PaymentFacts{payment.trade_no, payment.paid_at});
    if (t.outcome == store::TransitionOutcome::Applied && t.late_payment && refund_late)
      store.refunds().request(payment.order_id, "late payment", core::Cause::LatePayment, now, now);
  });
  if (t.outcome == store::TransitionOutcome::Applied && t.late_payment && refund_late) {
    JobMetrics::global().late_payments("refund").inc();
    spdlog::warn("order {} was closed but has been paid (trade {}); refunding it", payment.order_id,
                 payment.trade_no);
    return {SettleOutcome::RefundQueued, true};
  }
  if (t.outcome == store::TransitionOutcome::Applied && t.late_payment) {
    result.late_payment = true;
    JobMetrics::global().late_payments("deliver").inc();
    spdlog::warn("order {} was closed but has been paid (trade {}); delivering", payment.order_id,
                 payment.trade_no);
  }
  // Refused means it is PAID or DELIVERED already; delivery below is idempotent either way.
  const auto delivered = deliver(store, payment.order_id, cause, now);
  if (delivered == store::DeliveryOutcome::Delivered) result.outcome = SettleOutcome::Delivered;
  if (delivered == store::DeliveryOutcome::RefundPending)
    result.outcome = SettleOutcome::RefundQueued;
  return result;
}

}  // namespace chatglmd::jobs
