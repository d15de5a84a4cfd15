#pragma once
// Money is integer fen (1/100 yuan) everywhere; "9.99" strings exist only at the Alipay boundary.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatglmd::core {

struct Fen {
  std::int64_t value = 0;
  auto operator<=>(const Fen&) const = default;
};

// The largest amount Alipay takes for one trade: 100,000,000.00 yuan.
inline constexpr Fen kMaxTradeAmount{10'000'000'000};

// Parses a yuan amount written with at most two decimals ("9.99", "10", "0.5").
// Anything else (signs, exponents, three decimals, spaces) is refused.
std::optional<Fen> parse_yuan(std::string_view text);

// Formats fen as yuan with exactly two decimals, as Alipay expects ("9.99").
std::string format_yuan(Fen amount);

}  // namespace chatglmd::core
