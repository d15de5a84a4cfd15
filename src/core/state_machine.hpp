#pragma once
// The order state machine of DESIGN.md as a pure function: the store applies what it returns
// as a compare-and-set, so a refused event never reaches the database.
#include <optional>
#include <string_view>

#include "core/order.hpp"

namespace chatglmd::core {

enum class OrderEvent {
  PaymentConfirmed,  // gateway-confirmed TRADE_SUCCESS/TRADE_FINISHED with the exact amount
  QuotaGranted,      // delivery done
  CloseConfirmed,    // gateway closed the trade, or it never existed there
  RefundConfirmed,   // the gateway confirmed the full refund (fund_change Y or REFUND_SUCCESS)
};

// What caused a transition; written to the audit row.
enum class Cause {
  CreateOrder,
  Notify,
  Reconcile,
  TimeoutClose,
  Admin,
  Delivery,
  ReplenishShipment,
  RefundQuery,  // the refund-query job
  LatePayment,  // the late-payment policy refunding a payment on a closed order
};

std::string_view name_of(OrderEvent e);
std::string_view name_of(Cause c);

struct Transition {
  OrderState from;
  OrderState to;
  bool late_payment = false;  // a closed order that was paid after all
};

// Returns the transition for a legal (state, event) pair, nothing for an illegal one.
std::optional<Transition> next_transition(OrderState from, OrderEvent event);

}  // namespace chatglmd::core
