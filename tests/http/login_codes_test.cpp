// Login codes: uniform digits from the random source, one slot per live code, five tries each.
#include "http/handlers/login_codes.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>

namespace chatglmd::http {
namespace {

constexpr core::UtcMs kT0{1'700'000'000'000};
constexpr core::Millis kTtl{3 * 60 * 1000};

// Hands out the 32-bit values it was given, big-endian, then fails.
RandomBytes scripted(std::deque<std::uint32_t> values) {
  auto queue = std::make_shared<std::deque<std::uint32_t>>(std::move(values));
  return [queue](std::span<unsigned char> out) {
    if (queue->empty() || out.size() != 4) return false;
    std::uint32_t v = queue->front();
    queue->pop_front();
    for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(v >> (24 - 8 * i));
    return true;
  };
}

LoginCodes::Save accept_all() {
  return [](const std::string&) { return true; };
}

TEST(UniformBelow, DrawsPastTheLastWholeMultipleAreDrawnAgain) {
  // 2^32 = 4,294,967,296 = 4,294,967 * 1000 + 296: draws from 4,294,967,000 up would make
  // 0..295 likelier than 296..999.
  auto r = scripted({4'294'967'295u, 4'294'967'000u, 4'294'966'999u});
  EXPECT_EQ(uniform_below(1000, r), 999u);  // the first two were refused
  auto fair = scripted({1234u});
  EXPECT_EQ(uniform_below(1000, fair), 234u);
  auto failing = scripted({});
  EXPECT_FALSE(uniform_below(1000, failing));  // a failed source is no number
  EXPECT_FALSE(uniform_below(0, fair));
}

TEST(UniformBelow, TheOsSourceCoversEveryValueEvenly) {
  std::map<std::uint32_t, int> seen;
  for (int i = 0; i < 10'000; ++i) ++seen[*uniform_below(10, os_random_bytes)];
  ASSERT_EQ(seen.size(), 10u);
  for (const auto& [v, n] : seen) {
    EXPECT_LT(v, 10u);
    EXPECT_GT(n, 800) << v;  // 1,000 expected; 800 is more than 6 standard deviations away
    EXPECT_LT(n, 1200) << v;
  }
}

TEST(LoginCodes, CodesAreEightDigitsWithDistinctSlots) {
  LoginCodes codes;
  std::set<std::string> slots;
  for (int i = 0; i < 200; ++i) {
    auto c = codes.issue("user-" + std::to_string(i), kT0, kT0 + kTtl, accept_all());
    ASSERT_TRUE(c);
    ASSERT_EQ(c->size(), 8u) << *c;
    EXPECT_EQ(c->find_first_not_of("0123456789"), std::string::npos) << *c;
    EXPECT_TRUE(slots.insert(c->substr(0, 3)).second) << *c;
  }
}

TEST(LoginCodes, EverySlotTakenMeansNoCodeUntilOneEnds) {
  LoginCodes codes;
  for (int i = 0; i < LoginCodes::kSlots; ++i)
    ASSERT_TRUE(codes.issue("u" + std::to_string(i), kT0, kT0 + kTtl, accept_all())) << i;
  EXPECT_FALSE(codes.issue("late", kT0, kT0 + kTtl, accept_all()));
  EXPECT_TRUE(codes.issue("late", kT0 + kTtl, kT0 + 2 * kTtl, accept_all()));
}

TEST(LoginCodes, ALiveCodeDiesAfterFiveWrongTriesWhoeverMakesThem) {
  LoginCodes codes;
  auto c = *codes.issue("victim", kT0, kT0 + kTtl, accept_all());
  std::string slot = c.substr(0, 3);
  for (int i = 0; i < LoginCodes::kTriesPerCode; ++i) {
    std::string guess = slot + (c.substr(3) == "00000" ? "11111" : "00000");
    EXPECT_TRUE(codes.take_try(guess, kT0)) << i;  // the store then says "wrong"
  }
  EXPECT_EQ(codes.tries_left(c, kT0), 0);
  EXPECT_FALSE(codes.take_try(c, kT0));  // the right code is dead too
}

TEST(LoginCodes, FourWrongTriesLeaveTheRightOneAndARedeemedCodeFreesItsSlot) {
  LoginCodes codes;
  auto c = *codes.issue("user", kT0, kT0 + kTtl, accept_all());
  for (int i = 0; i < LoginCodes::kTriesPerCode - 1; ++i) EXPECT_TRUE(codes.take_try(c, kT0));
  EXPECT_EQ(codes.tries_left(c, kT0), 1);
  EXPECT_TRUE(codes.take_try(c, kT0));
  codes.redeemed(c, "user");
  EXPECT_EQ(codes.tries_left(c, kT0), 0);
  EXPECT_FALSE(codes.take_try(c, kT0));
}

TEST(LoginCodes, UnknownSlotsMalformedTextAndEndedCodesGetNoTry) {
  LoginCodes codes;
  auto c = *codes.issue("user", kT0, kT0 + kTtl, accept_all());
  std::string other_slot = (c[0] == '9' ? "0" : "9") + c.substr(1);
  EXPECT_FALSE(codes.take_try(other_slot, kT0));
  for (const char* bad : {"", "1234567", "123456789", "1234567a", "-1234567", " 1234567"})
    EXPECT_FALSE(codes.take_try(bad, kT0)) << bad;
  EXPECT_FALSE(codes.take_try(c, kT0 + kTtl));                     // ended with its three minutes
  EXPECT_EQ(codes.tries_left(c, kT0), LoginCodes::kTriesPerCode);  // nothing was taken
}

TEST(LoginCodes, AUsersNewCodeFreesTheOldSlotButADeadCodeKeepsItsSlotUntilItEnds) {
  // Scripted draws: the slot pick is an index into the free slots (all free: the slot number).
  LoginCodes codes(scripted({7, 42, 7, 43, 7, 44}));
  auto first = *codes.issue("user", kT0, kT0 + kTtl, accept_all());
  EXPECT_EQ(first, "00700042");
  auto second = *codes.issue("user", kT0, kT0 + kTtl, accept_all());
  EXPECT_EQ(second, "00800043");             // index 7 among the free slots, now that 7 is taken
  EXPECT_FALSE(codes.take_try(first, kT0));  // the store dropped it; so did its slot
  // Slot 7 is free again: index 7 among the free slots is slot 7 once more.
  auto third = *codes.issue("other", kT0, kT0 + kTtl, accept_all());
  EXPECT_EQ(third, "00700044");

  LoginCodes dying(scripted({5, 1, 5, 2}));
  auto d = *dying.issue("a", kT0, kT0 + kTtl, accept_all());
  for (int i = 0; i < LoginCodes::kTriesPerCode; ++i) dying.take_try("00599999", kT0);
  // Index 5 among the free slots skips the dead slot 5: its code is still in the store.
  auto next = *dying.issue("b", kT0, kT0 + kTtl, accept_all());
  EXPECT_EQ(next.substr(0, 3), "006") << d << " " << next;
}

TEST(LoginCodes, ARefusedSaveFreesTheSlotAndDrawsAgain) {
  LoginCodes codes(scripted({3, 1, 4, 2}));
  int calls = 0;
  auto c = codes.issue("user", kT0, kT0 + kTtl, [&](const std::string&) { return ++calls > 1; });
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "00400002");
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(codes.take_try("00300001", kT0));
  LoginCodes stubborn;  // a store that never takes a code: no code, and no slot kept
  EXPECT_FALSE(stubborn.issue("x", kT0, kT0 + kTtl, [](const std::string&) { return false; }));
  for (int i = 0; i < LoginCodes::kSlots; ++i)
    ASSERT_TRUE(stubborn.issue("u" + std::to_string(i), kT0, kT0 + kTtl, accept_all())) << i;
}

}  // namespace
}  // namespace chatglmd::http
