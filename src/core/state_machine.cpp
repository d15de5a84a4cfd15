#include "core/state_machine.hpp"

namespace chatglmd::core {

std::string_view name_of(OrderEvent e) {
  switch (e) {
    case OrderEvent::PaymentConfirmed:
      return "payment_confirmed";
    case OrderEvent::QuotaGranted:
      return "quota_granted";
    case OrderEvent::CloseConfirmed:
      return "close_confirmed";
    case OrderEvent::RefundConfirmed:
      return "refund_confirmed";
  }
  return "unknown";
}

std::string_view name_of(Cause c) {
  switch (c) {
    case Cause::CreateOrder:
      return "create-order";
    case Cause::Notify:
      return "notify";
    case Cause::Reconcile:
      return "reconcile";
    case Cause::TimeoutClose:
      return "timeout-close";
    case Cause::Admin:
      return "admin";
    case Cause::Delivery:
      return "delivery";
    case Cause::ReplenishShipment:
      return "replenish-shipment";
    case Cause::RefundQuery:
      return "refund-query";
    case Cause::LatePayment:
      return "late-payment";
  }
  return "unknown";
}

std::optional<Transition> next_transition(OrderState from, OrderEvent event) {
  using S = OrderState;
  using E = OrderEvent;
  switch (event) {
    case E::PaymentConfirmed:
      if (from == S::Created) return Transition{from, S::Paid};
      // The customer paid after we gave up waiting: the money is real, so deliver.
      if (from == S::Closed) return Transition{from, S::Paid, true};
      return std::nullopt;
    case E::QuotaGranted:
      if (from == S::Paid) return Transition{from, S::Delivered};
      return std::nullopt;
    case E::CloseConfirmed:
      if (from == S::Created) return Transition{from, S::Closed};
      return std::nullopt;
    case E::RefundConfirmed:
      // Money that came in goes back out: delivered orders, and paid ones not yet delivered
      // (a late payment refunded by policy). Nothing was paid on CREATED or CLOSED.
      if (from == S::Delivered || from == S::Paid) return Transition{from, S::Refunded};
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace chatglmd::core
