#pragma once
// Usage log output shared by `usage` and `user show`.
#include <string_view>
#include <vector>

#include "app/output.hpp"
#include "store/records.hpp"

namespace chatglmd::app {

// `user show` and a bare `usage` cover today and the 29 Beijing days before it.
inline constexpr int kDefaultUsageDays = 30;

core::UtcMs usage_window_start(core::UtcMs now, int days);
std::vector<Record> usage_records(const std::vector<store::UsageRow>& rows,
                                  std::string_view key_name);

}  // namespace chatglmd::app
