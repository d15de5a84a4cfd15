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

namespace {

void durably(store::Store& store, const Transact& transact, const std::function<void()>& writes) {
  if (transact) {
    transact(writes);
  } else {
    store.in_transaction(writes);
  }
}

void announce_delivery(const std::string& order_id, core::Cause cause) {
  JobMetrics::global().deliveries(core::name_of(cause)).inc();
  spdlog::info("order {} delivered ({})", order_id, core::name_of(cause));
}

}  // namespace

store::DeliveryOutcome deliver(store::Store& store, const std::string& order_id, core::Cause cause,
                               core::UtcMs now, const Transact& transact) {
  store::DeliveryOutcome out = store::DeliveryOutcome::UnknownOrder;
  durably(store, transact, [&] { out = store.orders().deliver(order_id, cause, now); });
  if (out == store::DeliveryOutcome::Delivered) announce_delivery(order_id, cause);
  return out;
}

SettleResult record_payment(store::Store& store, const PaymentConfirmation& payment,
                            core::Cause cause, core::UtcMs now,
                            core::LatePaymentPolicy late_payment) {
  auto order = store.orders().get(payment.order_id);
  if (!order)
    return {SettleOutcome::UnknownOrder, false, false, payment.order_id, payment.trade_no, cause};
  return record_payment(store, payment, *order, cause, now, late_payment);
}

SettleResult record_payment(store::Store& store, const PaymentConfirmation& payment,
                            const core::Order& order, core::Cause cause, core::UtcMs now,
                            core::LatePaymentPolicy late_payment) {
  SettleResult result{
      SettleOutcome::UnknownOrder, false, false, payment.order_id, payment.trade_no, cause};
  if (payment.amount != order.amount) {
    // Integer fen, exact: a different amount is not this order's payment. Logged at once: it
    // is about what the gateway said, true whether or not anything commits.
    spdlog::error("order {}: gateway reports {} fen paid, order is {} fen; not delivering",
                  payment.order_id, payment.amount.value, order.amount.value);
    result.outcome = SettleOutcome::AmountMismatch;
    return result;
  }
  result.outcome = SettleOutcome::AlreadyDelivered;
  const std::string detail = fmt::format("trade_no={}", payment.trade_no);
  const store::PaymentFacts facts{payment.trade_no, payment.paid_at};
  // The usual case (an unpaid order, its first confirmation) in one step; anything else (late,
  // repeated, raced) takes the general path below.
  if (order.state == core::OrderState::Created) {
    if (auto delivered = store.orders().pay_and_deliver_created(order, cause, detail, now, facts)) {
      if (*delivered == store::DeliveryOutcome::Delivered)
        result.outcome = SettleOutcome::Delivered;
      return result;
    }
  }
  // PAID and the refund request of a late payment commit together (the caller's transaction):
  // a crash between them must not leave a PAID order that replenish-shipment would deliver
  // against the policy.
  auto t = store.orders().apply(payment.order_id, core::OrderEvent::PaymentConfirmed, cause, detail,
                                now, facts);
  result.late_payment = t.outcome == store::TransitionOutcome::Applied && t.late_payment;
  if (result.late_payment && late_payment == core::LatePaymentPolicy::Refund) {
    store.refunds().request(payment.order_id, "late payment", core::Cause::LatePayment, now, now);
    result.refunded_late = true;
    result.outcome = SettleOutcome::RefundQueued;
    return result;
  }
  // Refused means it is PAID or DELIVERED already; delivery below is idempotent either way.
  const auto delivered = store.orders().deliver(payment.order_id, cause, now);
  if (delivered == store::DeliveryOutcome::Delivered) result.outcome = SettleOutcome::Delivered;
  if (delivered == store::DeliveryOutcome::RefundPending)
    result.outcome = SettleOutcome::RefundQueued;
  return result;
}

void announce_settlement(const SettleResult& r) {
  if (r.late_payment) {
    JobMetrics::global().late_payments(r.refunded_late ? "refund" : "deliver").inc();
    spdlog::warn("order {} was closed but has been paid (trade {}); {}", r.order_id, r.trade_no,
                 r.refunded_late ? "refunding it" : "delivering");
  }
  if (r.outcome == SettleOutcome::Delivered) announce_delivery(r.order_id, r.cause);
}

SettleResult settle_payment(store::Store& store, const PaymentConfirmation& payment,
                            core::Cause cause, core::UtcMs now,
                            core::LatePaymentPolicy late_payment, const Transact& transact) {
  SettleResult result;
  durably(store, transact,
          [&] { result = record_payment(store, payment, cause, now, late_payment); });
  announce_settlement(result);
  return result;
}

}  // namespace chatglmd::jobs
