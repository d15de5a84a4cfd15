#pragma once
// Alipay writes wall times as "yyyy-MM-dd HH:mm:ss" in GMT+8 (send_pay_date, gmt_payment).
#include <optional>
#include <string_view>

#include "core/time.hpp"

namespace chatglmd::pay {

inline constexpr int kAlipayUtcOffsetHours = 8;

// nullopt unless the text is exactly that shape with a valid date and time.
std::optional<core::UtcMs> parse_alipay_time(std::string_view text);

}  // namespace chatglmd::pay
