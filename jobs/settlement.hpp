#pragma once
// Settling a confirmed payment and a confirmed close, shared by the notify endpoint, the jobs
// and the admin commands, so every path applies the same rules.
#include <functional>
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
  bool late_payment = false;   // the order had been closed: deliver, and tell operators
  bool refunded_late = false;  // ... and under `late_payment = refund` a refund was requested
  // What announce_settlement() reports once the change has committed.
  std::string order_id;
  std::string trade_no;
  core::Cause cause = core::Cause::Notify;
};

// CREATED or CLOSED -> PAID (compare-and-set, audited), then delivery, as part of the caller's
// transaction (the notify endpoint's group commit). Counts and logs nothing: that transaction
// may still fail to commit, and then Alipay's resend is the one to count. Call
// announce_settlement() after the commit. Idempotent: a second confirmation delivers nothing.
// A late payment (the order was CLOSED) is delivered, or with LatePaymentPolicy::Refund gets a
// refund request in the same transaction as PAID, which the refund-query job sends.
SettleResult record_payment(
    store::Store& store, const PaymentConfirmation& payment, core::Cause cause, core::UtcMs now,
    core::LatePaymentPolicy late_payment = core::LatePaymentPolicy::Deliver);

// The same for an order the caller has just read in this transaction (the notify endpoint reads
// it for the merchant check): one read less per notify on the committer thread.
SettleResult record_payment(store::Store& store, const PaymentConfirmation& payment,
                            const core::Order& order, core::Cause cause, core::UtcMs now,
                            core::LatePaymentPolicy late_payment);

// The "delivered" log line and the delivery and late-payment counters of a committed
// settlement.
void announce_settlement(const SettleResult& result);

// How a caller makes a unit of writes durable: a transaction of its own (empty: the store's
// in_transaction) or its share of a group commit (JobContext::writer()). Returns once the
// writes have committed; throws as Store::in_transaction does.
using Transact = std::function<void(const std::function<void()>& writes)>;

// record_payment made durable by `transact`, announced once it has committed (the jobs and the
// admin commands).
SettleResult settle_payment(store::Store& store, const PaymentConfirmation& payment,
                            core::Cause cause, core::UtcMs now,
                            core::LatePaymentPolicy late_payment = core::LatePaymentPolicy::Deliver,
                            const Transact& transact = {});

// Delivers a PAID order durably (by `transact`), then counts and logs it (right after PAID, or
// by replenish-shipment). Never call it inside an open transaction: it would count a delivery
// that could still roll back.
store::DeliveryOutcome deliver(store::Store& store, const std::string& order_id, core::Cause cause,
                               core::UtcMs now, const Transact& transact = {});

std::string_view name_of(SettleOutcome o);

}  // namespace chatglmd::jobs
