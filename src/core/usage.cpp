#include "core/usage.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>

namespace chatglmd::core {

std::int64_t beijing_day_number(UtcMs t) {
  const std::int64_t local = t.ms + kBeijingOffsetMs;
  // Floor, not truncation: times before 1970 still fall on the right day.
  return local >= 0 ? local / kDayMs : -((-local + kDayMs - 1) / kDayMs);
}

std::string day_key(std::int64_t day_number) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{day_number}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::optional<UtcMs> parse_beijing_day(const std::string& text) {
  using namespace std::chrono;
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  char tail = 0;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3)
    return std::nullopt;
  const year_month_day ymd{year{y}, month{m}, day{d}};
  if (!ymd.ok()) return std::nullopt;
  const auto day_number = sys_days{ymd}.time_since_epoch().count();
  return UtcMs{day_number * kDayMs - kBeijingOffsetMs};
}

std::optional<std::int64_t> percentile(const std::vector<std::int64_t>& ascending, double p) {
  if (ascending.empty()) return std::nullopt;
  auto rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(ascending.size())));
  if (rank < 1) rank = 1;
  if (rank > ascending.size()) rank = ascending.size();
  return ascending[rank - 1];
}

}  // namespace chatglmd::core
