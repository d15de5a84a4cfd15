#pragma once
// The order most store tests need: product 1001, "50 chats" for 9.99 yuan, glm-4.
#include <cstdint>
#include <string>

#include "core/order.hpp"

namespace chatglmd::testing {

inline core::Order make_order(const std::string& id, const std::string& openid, core::UtcMs at,
                              std::int64_t product_id = 1001, std::int64_t quota = 50) {
  core::Order o;
  o.order_id = id;
  o.openid = openid;
  o.product_id = product_id;
  o.product_name = "50 chats";
  o.quota = quota;
  o.model_types = "glm-4";
  o.amount = core::Fen{999};
  o.order_time = at;
  return o;
}

}  // namespace chatglmd::testing
