#include "llm/zhipu_token.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "llm/jwt.hpp"

namespace chatglmd::llm {
namespace {

using namespace std::chrono_literals;

std::int64_t claim(const std::string& token, const char* name) {
  auto check = jwt_verify_hs256(token, "0123456789abcdef");
  EXPECT_TRUE(check.ok());
  return boost::json::parse(check.payload_json).as_object().at(name).as_int64();
}

ZhipuApiKey key() {
  return *ZhipuApiKey::parse("abcdefgh12345678.0123456789abcdef");
}

TEST(ZhipuTokenCacheTest, DefaultTtlIsThirtyMinutesInMilliseconds) {
  core::ManualClock clock(core::UtcMs{1700000000000});
  ZhipuTokenCache cache(key(), clock);
  auto token = cache.token();
  EXPECT_EQ(claim(token, "timestamp"), 1700000000000);
  EXPECT_EQ(claim(token, "exp"), 1700000000000 + 30 * 60 * 1000);
}

TEST(ZhipuTokenCacheTest, ReusedUntilTheMarginThenReplaced) {
  core::ManualClock clock(core::UtcMs{1700000000000});
  ZhipuTokenCache cache(key(), clock, {30min, 1min});
  const auto first = cache.token();
  clock.advance(28min);
  EXPECT_EQ(cache.token(), first);  // 2 minutes left
  clock.advance(59s);
  EXPECT_EQ(cache.token(), first);  // 61 s left
  clock.advance(1s + 1ms);
  const auto second = cache.token();  // under a minute left: replaced
  EXPECT_NE(second, first);
  EXPECT_EQ(claim(second, "timestamp"), clock.now().ms);
  EXPECT_EQ(claim(second, "exp"), (clock.now() + 30min).ms);
}

TEST(ZhipuTokenCacheTest, NeverHandsOutATokenWithLessThanTheMarginLeft) {
  core::ManualClock clock(core::UtcMs{1700000000000});
  ZhipuTokenCache cache(key(), clock, {3min, 30s});
  // Walk in uneven steps across several lifetimes; every token must outlive now + margin.
  for (int i = 0; i < 200; ++i) {
    const auto token = cache.token();
    EXPECT_GE(claim(token, "exp") - clock.now().ms, 30'000) << "step " << i;
    EXPECT_LE(claim(token, "timestamp"), clock.now().ms);
    clock.advance(std::chrono::milliseconds(1000 + 7919 * (i % 5)));
  }
}

TEST(ZhipuTokenCacheTest, ThreadSafe) {
  core::ManualClock clock(core::UtcMs{1700000000000});
  ZhipuTokenCache cache(key(), clock, {2min, 1min});
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        auto token = cache.token();
        if (!jwt_verify_hs256(token, "0123456789abcdef").ok()) ++bad;
        clock.advance(10ms);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace chatglmd::llm
