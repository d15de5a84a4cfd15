// When the scheduler runs a job first, and how long an unclear order waits before its retry.
#include "jobs/scheduler.hpp"

#include <gtest/gtest.h>

#include "jobs/backoff.hpp"

namespace chatglmd::jobs {
namespace {

using namespace std::chrono_literals;
using core::Millis;
using core::UtcMs;

constexpr UtcMs kNow{1'700'000'000'000};

TEST(SchedulerFirstDelay, NeverRunBeforeStartsShortlyAfterStartup) {
  EXPECT_EQ(Scheduler::first_delay(std::nullopt, kNow, Millis{1min}), kStartupDelay);
  EXPECT_EQ(Scheduler::first_delay(std::nullopt, kNow, Millis{24h}), kStartupDelay);
}

TEST(SchedulerFirstDelay, AfterDowntimeOneCatchUpRunSoonNotOnePerMissedInterval) {
  // Down for 10 intervals: the next run is the catch-up at startup; the function returns a
  // single delay, so there is no backfill of the 9 missed runs.
  EXPECT_EQ(Scheduler::first_delay(kNow - Millis{10min}, kNow, Millis{1min}), kStartupDelay);
  EXPECT_EQ(Scheduler::first_delay(kNow - Millis{30 * 24h}, kNow, Millis{1min}), kStartupDelay);
  // Exactly due, or due within the startup delay: also the startup delay (never sooner).
  EXPECT_EQ(Scheduler::first_delay(kNow - Millis{1min}, kNow, Millis{1min}), kStartupDelay);
  EXPECT_EQ(Scheduler::first_delay(kNow - Millis{1min} + kStartupDelay, kNow, Millis{1min}),
            kStartupDelay);
}

TEST(SchedulerFirstDelay, ARecentRunKeepsItsFixedDelay) {
  // A restart must not make a job run more often than its interval.
  EXPECT_EQ(Scheduler::first_delay(kNow - Millis{10s}, kNow, Millis{1min}), Millis{50s});
  EXPECT_EQ(Scheduler::first_delay(kNow, kNow, Millis{1h}), Millis{1h});
  EXPECT_EQ(
      Scheduler::first_delay(kNow - Millis{1min} + kStartupDelay + Millis{1}, kNow, Millis{1min}),
      kStartupDelay + Millis{1});
}

TEST(Backoff, FirstRetryIsTheBaseSpreadByTwentyPercent) {
  EXPECT_EQ(backoff_delay(1, 0.0), Millis{24s});
  EXPECT_EQ(backoff_delay(1, 0.5), Millis{30s});
  EXPECT_LT(backoff_delay(1, 0.999999), Millis{36s});
  EXPECT_GE(backoff_delay(1, 0.999999), Millis{35s});
}

TEST(Backoff, DoublesPerAttemptUpToTheCap) {
  EXPECT_EQ(backoff_delay(2, 0.5), Millis{60s});
  EXPECT_EQ(backoff_delay(3, 0.5), Millis{120s});
  EXPECT_EQ(backoff_delay(6, 0.5), Millis{960s});
  EXPECT_EQ(backoff_delay(7, 0.5), kBackoffCap);  // 32 min capped at 30
  Millis previous{0};
  for (int attempts = 1; attempts <= 100; ++attempts) {
    for (double jitter : {0.0, 0.25, 0.5, 0.75, 0.999999}) {
      auto d = backoff_delay(attempts, jitter);
      EXPECT_GE(d, Millis{24s}) << attempts;
      EXPECT_LT(d, Millis{static_cast<std::int64_t>(kBackoffCap.count() * 1.2)}) << attempts;
    }
    auto mid = backoff_delay(attempts, 0.5);
    EXPECT_GE(mid, previous) << attempts;  // never shorter for a later attempt
    previous = mid;
  }
  EXPECT_EQ(backoff_delay(1'000'000, 0.0),
            Millis{static_cast<std::int64_t>(kBackoffCap.count() * 0.8)});
}

TEST(Backoff, OutOfRangeInputsStayInBounds) {
  EXPECT_EQ(backoff_delay(0, 0.5), Millis{30s});
  EXPECT_EQ(backoff_delay(-5, 0.5), Millis{30s});
  EXPECT_EQ(backoff_delay(1, -3.0), Millis{24s});
  EXPECT_LT(backoff_delay(1, 7.0), Millis{36s});
}

}  // namespace
}  // namespace chatglmd::jobs
