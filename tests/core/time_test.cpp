#include "core/time.hpp"

#include <gtest/gtest.h>

namespace chatglmd::core {
namespace {

TEST(Time, WallTimeInGmtPlus8) {
  // 2024-01-01 19:04:05 UTC is 2024-01-02 03:04:05 in GMT+8 (Alipay's timestamp zone).
  UtcMs t{1704135845000};
  EXPECT_EQ(format_wall_time(t, 0), "2024-01-01 19:04:05");
  EXPECT_EQ(format_wall_time(t, 8), "2024-01-02 03:04:05");
}

TEST(Time, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(UtcMs{1000});
  EXPECT_EQ(clock.now(), UtcMs{1000});
  clock.advance(std::chrono::minutes(30));
  EXPECT_EQ(clock.now(), UtcMs{1000 + 30 * 60 * 1000});
}

}  // namespace
}  // namespace chatglmd::core
