#pragma once
// Pure helpers of the usage log and the dashboard: Beijing days and percentiles.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace chatglmd::core {

// Days in reports are Beijing days (UTC+8), the days Alipay and the users live in.
inline constexpr std::int64_t kBeijingOffsetMs = 8 * 3600 * 1000;
inline constexpr std::int64_t kDayMs = 24 * 3600 * 1000;

// The Beijing day a time falls on, as days since 1970-01-01, and back to "YYYY-MM-DD".
std::int64_t beijing_day_number(UtcMs t);
std::string day_key(std::int64_t day_number);
// The UTC start of a Beijing day given as "YYYY-MM-DD"; nothing when it is not such a date.
std::optional<UtcMs> parse_beijing_day(const std::string& text);

// The p-th percentile (0..100, nearest rank) of ascending values; nothing when empty.
std::optional<std::int64_t> percentile(const std::vector<std::int64_t>& ascending, double p);

}  // namespace chatglmd::core
