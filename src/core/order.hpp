#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/money.hpp"
#include "core/time.hpp"

namespace chatglmd::core {

// The numbers are the original project's order_status codes and are stored as-is.
enum class OrderState : int { Created = 0, Paid = 1, Delivered = 2, Closed = 3, Refunded = 4 };

// pay_status travels with order_status: 0 unpaid, 1 paid, 3 closed, 4 refunded.
int pay_status_of(OrderState s);
std::string_view name_of(OrderState s);
// Accepts a name ("paid", "PAID") or a number ("1").
std::optional<OrderState> parse_order_state(std::string_view text);
bool is_final(OrderState s);

struct Order {
  std::int64_t id = 0;   // store row id; batches are ordered by it
  std::string order_id;  // 12 digits, the out_trade_no sent to Alipay
  std::string openid;
  std::int64_t product_id = 0;
  std::string product_name;
  std::int64_t quota = 0;   // quota the product grants, copied at order time
  std::string model_types;  // models the product grants, copied at order time
  OrderState state = OrderState::Created;
  Fen amount;
  UtcMs order_time;
  std::optional<UtcMs> pay_time;
  std::string trade_no;
  std::string pay_info;  // page-pay form HTML or precreate QR URL; empty until the gateway answered
  int attempts = 0;
  UtcMs next_attempt_at;
  std::string last_error;
};

}  // namespace chatglmd::core
