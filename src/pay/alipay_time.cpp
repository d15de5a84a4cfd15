#include "pay/alipay_time.hpp"

#include <chrono>

namespace chatglmd::pay {

namespace {
bool digits(std::string_view s, int& out) {
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}
}  // namespace

std::optional<core::UtcMs> parse_alipay_time(std::string_view t) {
  using namespace std::chrono;
  if (t.size() != 19 || t[4] != '-' || t[7] != '-' || t[10] != ' ' || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  int y, mo, d, h, mi, s;
  if (!digits(t.substr(0, 4), y) || !digits(t.substr(5, 2), mo) || !digits(t.substr(8, 2), d) ||
      !digits(t.substr(11, 2), h) || !digits(t.substr(14, 2), mi) || !digits(t.substr(17, 2), s))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const auto local = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
  const auto utc = local - hours{kAlipayUtcOffsetHours};
  return core::UtcMs{duration_cast<milliseconds>(utc.time_since_epoch()).count()};
}

std::string format_alipay_time(core::UtcMs t) {
  return core::format_wall_time(t, kAlipayUtcOffsetHours);
}

core::UtcMs time_expire_of(core::UtcMs order_time, core::Millis close_after) {
  return core::UtcMs{(order_time + close_after).ms / 1000 * 1000};
}

}  // namespace chatglmd::pay
