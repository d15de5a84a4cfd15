// Fixed-window counting with an explicit clock: the budget refills when the window ends, and
// memory stays bounded under many keys.
#include "http/handlers/window_counter.hpp"

#include <gtest/gtest.h>

#include <string>

#include "metrics/metrics.hpp"

namespace chatglmd::http {
namespace {

constexpr core::UtcMs kT0{1'700'000'000'000};
constexpr core::Millis kMinute{60'000};

TEST(WindowCounter, AllowsUpToTheLimitThenRefusesUntilTheWindowEnds) {
  WindowCounter c(kMinute);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(c.take("a", kT0 + core::Millis{i}, 3)) << i;
  EXPECT_FALSE(c.take("a", kT0 + core::Millis{10}, 3));
  EXPECT_EQ(c.count("a", kT0 + core::Millis{10}), 3);  // a refused take counts nothing
  EXPECT_FALSE(c.take("a", kT0 + kMinute - core::Millis{1}, 3));
  EXPECT_TRUE(c.take("a", kT0 + kMinute, 3));  // the window started at the first take
  EXPECT_EQ(c.count("a", kT0 + kMinute), 1);
}

TEST(WindowCounter, KeysHaveTheirOwnBudgets) {
  WindowCounter c(kMinute);
  EXPECT_TRUE(c.take("a", kT0, 1));
  EXPECT_FALSE(c.take("a", kT0, 1));
  EXPECT_TRUE(c.take("b", kT0, 1));
  EXPECT_EQ(c.count("c", kT0), 0);
}

TEST(WindowCounter, AddCountsPastTheLimitAndGiveBackUndoesOne) {
  WindowCounter c(kMinute);
  for (int i = 0; i < 4; ++i) c.add("a", kT0);
  EXPECT_EQ(c.count("a", kT0), 4);
  EXPECT_FALSE(c.take("a", kT0, 4));
  c.give_back("a", kT0);  // the window's start: its first count's time
  EXPECT_TRUE(c.take("a", kT0, 4));
  c.give_back("nobody", kT0);  // nothing to undo, nothing created
  EXPECT_EQ(c.keys(), 1u);
  EXPECT_EQ(c.count("a", kT0 + kMinute), 0);  // a finished window counts nothing
}

// A chat taken near the end of one window and failing after the next began: its count ended with
// its window, and the new window's counts are not the chat's to give.
TEST(WindowCounter, GiveBackAfterItsWindowEndedLeavesTheNextWindowAlone) {
  WindowCounter c(kMinute);
  EXPECT_EQ(c.take_counted("a", kT0, 2), kT0);
  const auto old_window = c.take_counted("a", kT0 + core::Millis{59'000}, 2);
  EXPECT_EQ(old_window, kT0) << "a take names the window that counted it, not its own time";
  const auto next = kT0 + kMinute + core::Millis{7};
  EXPECT_EQ(c.take_counted("a", next, 2), next);  // the next window: its first
  c.give_back("a", *old_window);
  EXPECT_EQ(c.count("a", next), 1);
  EXPECT_TRUE(c.take("a", next, 2));
  EXPECT_FALSE(c.take("a", next, 2)) << "2 in the window, none given back";
  c.give_back("a", next);
  EXPECT_EQ(c.count("a", next), 1);
}

// Two requests read the clock, and the later-timed one opens the window first: the earlier one
// counts in that window, and its give-back must find it (the window's start is after its `now`).
TEST(WindowCounter, ATakeWhoseNowPrecedesTheWindowIsGivenBackToIt) {
  WindowCounter c(kMinute);
  ASSERT_EQ(c.take_counted("a", kT0 + core::Millis{5}, 2), kT0 + core::Millis{5});
  const auto window = c.take_counted("a", kT0, 2);
  ASSERT_EQ(window, kT0 + core::Millis{5});
  c.give_back("a", *window);
  EXPECT_EQ(c.count("a", kT0 + core::Millis{5}), 1);
}

TEST(WindowCounter, FullMapSweepsEndedWindowsAndRefusesNewKeysWhileAllAreLive) {
  metrics::Counter refused;
  WindowCounter c(kMinute, 3, &refused);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(c.take("k" + std::to_string(i), kT0, 1));
  // All three windows are live: a fourth key cannot be counted, so it is refused (letting it
  // through would give every fresh key an unlimited budget), and memory does not grow.
  EXPECT_FALSE(c.take("new", kT0 + core::Millis{5}, 1));
  EXPECT_FALSE(c.take("new", kT0 + core::Millis{6}, 100));
  EXPECT_EQ(refused.value(), 2);
  EXPECT_EQ(c.keys(), 3u);
  EXPECT_FALSE(c.take("k0", kT0 + core::Millis{7}, 1));  // tracked keys keep their budgets
  EXPECT_TRUE(c.take("k1", kT0 + core::Millis{7}, 2));
  EXPECT_EQ(refused.value(), 2);  // an over-limit refusal is not a full one
  // Once the windows have ended the sweep frees them and the new key is counted.
  EXPECT_TRUE(c.take("new", kT0 + kMinute, 1));
  EXPECT_FALSE(c.take("new", kT0 + kMinute, 1));
  EXPECT_EQ(c.keys(), 1u);
  EXPECT_EQ(refused.value(), 2);
}

TEST(WindowCounter, OnlyEndedWindowsAreSweptToMakeRoom) {
  WindowCounter c(kMinute, 2);  // without a metric, refusing still works
  EXPECT_TRUE(c.take("old", kT0, 5));
  EXPECT_TRUE(c.take("young", kT0 + core::Millis{30'000}, 5));
  // At kT0 + 1 minute "old" has ended and makes room; "young" keeps its count.
  EXPECT_TRUE(c.take("new", kT0 + kMinute, 5));
  EXPECT_EQ(c.keys(), 2u);
  EXPECT_EQ(c.count("young", kT0 + kMinute), 1);
  EXPECT_FALSE(c.take("another", kT0 + kMinute, 5));
}

}  // namespace
}  // namespace chatglmd::http
