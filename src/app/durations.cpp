#include "app/durations.hpp"

#include <fmt/format.h>

#include <charconv>

namespace chatglmd::app {
namespace {

std::optional<std::int64_t> parse_count(std::string_view digits) {
  auto v = parse_integer(digits);
  if (!v || *v < 0 || digits.front() == '-') return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<core::Millis> parse_duration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    std::int64_t ms;
  };
  // "ms" before "m" and "s" so that the longest suffix wins.
  static constexpr Unit kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  for (const auto& u : kUnits) {
    if (text.size() > u.suffix.size() && text.substr(text.size() - u.suffix.size()) == u.suffix) {
      auto n = parse_count(text.substr(0, text.size() - u.suffix.size()));
      if (!n || *n > (std::int64_t{1} << 40)) return std::nullopt;
      return core::Millis{*n * u.ms};
    }
  }
  return std::nullopt;
}

std::string format_duration(core::Millis d) {
  auto ms = d.count();
  if (ms % 86'400'000 == 0 && ms != 0) return fmt::format("{}d", ms / 86'400'000);
  if (ms % 3'600'000 == 0 && ms != 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0 && ms != 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

std::optional<std::size_t> parse_size(std::string_view text) {
  std::int64_t mult = 1;
  if (!text.empty() && (text.back() == 'k' || text.back() == 'K')) mult = 1024;
  if (!text.empty() && (text.back() == 'm' || text.back() == 'M')) mult = 1024 * 1024;
  if (mult != 1) text.remove_suffix(1);
  auto n = parse_count(text);
  if (!n) return std::nullopt;
  return static_cast<std::size_t>(*n * mult);
}

}  // namespace chatglmd::app
