#include "core/order.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace chatglmd::core {

int pay_status_of(OrderState s) {
  switch (s) {
    case OrderState::Created:
      return 0;
    case OrderState::Paid:
    case OrderState::Delivered:
      return 1;
    case OrderState::Closed:
      return 3;
    case OrderState::Refunded:
      return 4;
  }
  return 0;
}

std::string_view name_of(OrderState s) {
  switch (s) {
    case OrderState::Created:
      return "CREATED";
    case OrderState::Paid:
      return "PAID";
    case OrderState::Delivered:
      return "DELIVERED";
    case OrderState::Closed:
      return "CLOSED";
    case OrderState::Refunded:
      return "REFUNDED";
  }
  return "UNKNOWN";
}

std::optional<OrderState> parse_order_state(std::string_view text) {
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (OrderState s : {OrderState::Created, OrderState::Paid, OrderState::Delivered,
                       OrderState::Closed, OrderState::Refunded}) {
    if (upper == name_of(s) || upper == std::to_string(static_cast<int>(s))) return s;
  }
  return std::nullopt;
}

bool is_final(OrderState s) {
  return s == OrderState::Delivered || s == OrderState::Closed || s == OrderState::Refunded;
}

}  // namespace chatglmd::core
