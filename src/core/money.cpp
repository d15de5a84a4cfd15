#include "core/money.hpp"

#include <fmt/format.h>

namespace chatglmd::core {

std::optional<Fen> parse_yuan(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::int64_t whole = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] != '.'; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    whole = whole * 10 + (text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  std::int64_t cents = 0;
  if (i < text.size()) {
    std::string_view frac = text.substr(i + 1);
    if (frac.empty() || frac.size() > 2) return std::nullopt;
    for (char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    cents = (frac[0] - '0') * 10 + (frac.size() == 2 ? frac[1] - '0' : 0);
  }
  return Fen{whole * 100 + cents};
}

std::string format_yuan(Fen amount) {
  const char* sign = amount.value < 0 ? "-" : "";
  std::int64_t v = amount.value < 0 ? -amount.value : amount.value;
  return fmt::format("{}{}.{:02}", sign, v / 100, v % 100);
}

}  // namespace chatglmd::core
