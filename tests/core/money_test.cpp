#include "core/money.hpp"

#include <gtest/gtest.h>

namespace chatglmd::core {
namespace {

TEST(Money, ParsesYuanWithAtMostTwoDecimals) {
  EXPECT_EQ(parse_yuan("9.99"), Fen{999});
  EXPECT_EQ(parse_yuan("88.88"), Fen{8888});
  EXPECT_EQ(parse_yuan("10"), Fen{1000});
  EXPECT_EQ(parse_yuan("0.5"), Fen{50});
  EXPECT_EQ(parse_yuan("0.01"), Fen{1});
  EXPECT_EQ(parse_yuan("100000000.00"), kMaxTradeAmount);
}

TEST(Money, RefusesAnythingElse) {
  for (const char* bad : {"", ".5", "1.", "1.234", "-1.00", "+1", "1e3", " 1.00", "1.00 ", "1,00",
                          "abc", "12345678901234567"}) {
    EXPECT_EQ(parse_yuan(bad), std::nullopt) << bad;
  }
}

TEST(Money, FormatsWithTwoDecimals) {
  EXPECT_EQ(format_yuan(Fen{999}), "9.99");
  EXPECT_EQ(format_yuan(Fen{1}), "0.01");
  EXPECT_EQ(format_yuan(Fen{100}), "1.00");
  EXPECT_EQ(format_yuan(Fen{-250}), "-2.50");
}

TEST(Money, RoundTripsEveryCentBelowTenYuan) {
  for (std::int64_t v = 0; v < 1000; ++v) EXPECT_EQ(parse_yuan(format_yuan(Fen{v})), Fen{v});
}

}  // namespace
}  // namespace chatglmd::core
