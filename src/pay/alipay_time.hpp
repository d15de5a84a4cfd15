#pragma once
// Alipay writes wall times as "yyyy-MM-dd HH:mm:ss" in GMT+8 (send_pay_date, gmt_payment,
// time_expire).
#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

namespace chatglmd::pay {

inline constexpr int kAlipayUtcOffsetHours = 8;

// nullopt unless the text is exactly that shape with a valid date and time.
std::optional<core::UtcMs> parse_alipay_time(std::string_view text);

// `t` as Alipay reads it: Beijing time, whole seconds (fractions cut off).
std::string format_alipay_time(core::UtcMs t);

// The absolute time_expire of an order's trade: order time + the close threshold, cut to whole
// seconds because the wire format has none (cutting errs on the side of Alipay stopping first).
core::UtcMs time_expire_of(core::UtcMs order_time, core::Millis close_after);

}  // namespace chatglmd::pay
