// Sensitive words through the daemon's chat path: what the upstream receives (the simulator
// records the last request body) and what the user sees (the simulator echoes the message).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "daemon/daemon_client.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;

// The last user message the upstream received.
std::string upstream_saw(SimProcess& sim) {
  auto body = boost::json::parse(glm_stats(sim).at("last_request_body").as_string());
  return std::string(body.at("messages").as_array().back().at("content").as_string());
}

struct ChatFilter : ::testing::Test {
  static void SetUpTestSuite() {
    DaemonOptions options;
    options.start = false;
    options.config = {{"auth.whitelist", "trusted"}};
    daemon = new DaemonHarness(options);
    run_ok(*daemon, {"words", "add", "傻瓜", "abc", "bcd", "坏人", "badword"});
    daemon->start();
    run_ok(*daemon, {"user", "add", "writer", "--quota", "1000"});
    run_ok(*daemon, {"user", "add", "trusted", "--quota", "100"});
  }
  static void TearDownTestSuite() {
    delete daemon;
    daemon = nullptr;
  }
  // Sends `text` on both paths as `openid`; checks the upstream got `want` both times and that
  // the answer echoes it.
  void expect_sent(const std::string& openid, const std::string& text, const std::string& want) {
    SCOPED_TRACE(text);
    std::string auth = "Bearer " + d.token_for(openid);
    auto original = chat(d, kOriginalChat, auth, chat_json("glm-4", text));
    EXPECT_EQ(upstream_saw(d.sim()), want);
    EXPECT_EQ(original.body, "Echo: " + want);
    auto openai = chat(d, kOpenAiChat, auth, chat_json("glm-4", text, R"("stream":true)"));
    EXPECT_EQ(upstream_saw(d.sim()), want);
    EXPECT_EQ(parse_openai_stream(openai.body).text, "Echo: " + want);
  }
  static DaemonHarness* daemon;
  DaemonHarness& d = *daemon;
};
DaemonHarness* ChatFilter::daemon = nullptr;

TEST_F(ChatFilter, WordsInsideMixedChineseAndAsciiText) {
  expect_sent("writer", "你是傻瓜吗", "你是**吗");
  expect_sent("writer", "hello傻瓜world", "hello**world");
  expect_sent("writer", "坏人abc坏人", "*******");
  expect_sent("writer", "这是badword，对吗？", "这是*******，对吗？");
  // Each flagged character becomes one '*', whatever its byte length.
  expect_sent("writer", "傻瓜傻", "**傻");
}

TEST_F(ChatFilter, OverlappingAndNestedWordsAreAllCovered) {
  expect_sent("writer", "xabcdx", "x****x");  // abc and bcd overlap
  expect_sent("writer", "abcbcd", "******");
  expect_sent("writer", "ab cd bc", "ab cd bc");  // no word is complete: nothing changes
}

TEST_F(ChatFilter, FullWidthAndUpperCaseVariants) {
  expect_sent("writer", "ＡＢＣ", "***");
  expect_sent("writer", "ABC and Bcd", "*** and ***");
  expect_sent("writer", "ＢａｄＷｏｒｄ!", "*******!");
  expect_sent("writer", "傻瓜ＡbＣ", "*****");
}

TEST_F(ChatFilter, TextWithoutWordsIsSentAsWritten) {
  expect_sent("writer", "普通的问题 with ASCII 123", "普通的问题 with ASCII 123");
}

TEST_F(ChatFilter, WhitelistedUsersAreNotFiltered) {
  expect_sent("trusted", "你是傻瓜abc", "你是傻瓜abc");
}

TEST_F(ChatFilter, AWordAddedWhileRunningAppliesWithinTwoSeconds) {
  std::string auth = "Bearer " + d.token_for("writer");
  run_ok(d, {"words", "add", "新词"});
  const auto added = std::chrono::steady_clock::now();
  bool masked = eventually(
      [&] {
        chat(d, kOriginalChat, auth, chat_json("glm-4", "一个新词"));
        return upstream_saw(d.sim()) == "一个**";
      },
      5s);
  EXPECT_TRUE(masked);
  EXPECT_LT(std::chrono::steady_clock::now() - added,
            3s);  // 2 s promised, plus a request in flight
}

TEST_F(ChatFilter, AWhitelistChangeWhileRunningAppliesWithinTwoSeconds) {
  run_ok(d, {"user", "add", "promoted", "--quota", "1000"});
  std::string auth = "Bearer " + d.token_for("promoted");
  auto sent_as_written = [&] {
    chat(d, kOriginalChat, auth, chat_json("glm-4", "傻瓜"));
    return upstream_saw(d.sim()) == "傻瓜";
  };
  EXPECT_FALSE(sent_as_written());
  run_ok(d, {"whitelist", "add", "promoted"});
  auto changed = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually(sent_as_written, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - changed, 3s);
  run_ok(d, {"whitelist", "remove", "promoted"});
  changed = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually([&] { return !sent_as_written(); }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - changed, 3s);
}

}  // namespace
}  // namespace chatglmd::testing
