#pragma once
// Settling a confirmed payment and a confirmed close, shared by the notify endpoint, the jobs
// and the admin commands, so every path applies the same rules.
#include <string>

#include "core/money.hpp"
#include "core/refund.hpp"
#include "core/state_machine.hpp"
#include "core/time.hpp"
#include "store/store.hpp"

namespace chatglmd::jobs {

struct PaymentConfirmation {
  std::string order_id;
  std::string trade_no;
  core::Fen amount;  // as the gateway reported it
  core::UtcMs paid_at;
};

enum class SettleOutcome {
  Delivered,         // moved to PAID (now or before) and the quota granted now
  AlreadyDelivered,  // nothing to do
  AmountMismatch,    // the gateway's amount differs from the order's: never paid, flagged
  UnknownOrder,
  RefundQueued,  // a late payment under `late_payment = refund`: a refund is requested instead
};

struct SettleResult {
  SettleOutcome outcome = SettleOutcome::UnknownOrder;
  bool late_payment = false;  // the order had been closed: deliver, and tell operators
};

// CREATED or CLOSED -> PAID (compare-and-set, audited), then delivery in one transaction.
// Idempotent: a second confirmation of the same payment delivers nothing. A late payment (the
// order was CLOSED) is delivered, or with LatePaymentPolicy::Refund gets a refund request in the
// same transaction as PAID, which the refund-query job sends.
SettleResult settle_payment(
    store::Store& store, const PaymentConfirmation& payment, core::Cause cause, core::UtcMs now,
    core::LatePaymentPolicy late_payment = core::LatePaymentPolicy::Deliver);

// Delivers a PAID order (right after PAID, or by replenish-shipment).
store::DeliveryOutcome deliver(store::Store& store, const std::string& order_id, core::Cause cause,
                               core::UtcMs now);

std::string_view name_of(SettleOutcome o);

}  // namespace chatglmd::jobs
