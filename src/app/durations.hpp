#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

namespace chatglmd::app {

// "30m", "3m", "10s", "250ms", "2h", "7d"; a bare number is refused (units are not guessed).
std::optional<core::Millis> parse_duration(std::string_view text);
std::string format_duration(core::Millis d);
// A whole number written plainly ("42", "-5"): no spaces, no '+', nothing after it.
std::optional<std::int64_t> parse_integer(std::string_view text);
// "1048576", "512k", "1m" (KiB/MiB), for byte sizes.
std::optional<std::size_t> parse_size(std::string_view text);

}  // namespace chatglmd::app
