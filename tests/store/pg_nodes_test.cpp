// Two `chatglmd serve` nodes on one PostgreSQL store: what one node did, the other sees, and the
// per-user chat budgets are counted once for both.
#include <gtest/gtest.h>

#include "daemon/daemon_client.hpp"
#include "daemon/wechat_portal.hpp"
#include "support/pg_cluster.hpp"

namespace chatglmd::testing {
namespace {

TEST(PgNodes, TwoNodesCountOneUsersRateLimitOnce) {
  const std::string url = PgCluster::shared().create_database("nodes");
  const std::map<std::string, std::string> config = {{"store.url", url}, {"chat.rate_limit", "3"}};
  DaemonHarness a(DaemonOptions{config});
  DaemonHarness b(DaemonOptions{config});
  run_ok(a, {"user", "add", "u", "--quota", "10"});
  const std::string token = a.token_for("u");
  EXPECT_EQ(chat(a, kOpenAiChat, "Bearer " + token, chat_json("glm-4", "1")).status, 200);
  EXPECT_EQ(chat(b, kOpenAiChat, "Bearer " + token, chat_json("glm-4", "2")).status, 200);
  EXPECT_EQ(chat(a, kOpenAiChat, "Bearer " + token, chat_json("glm-4", "3")).status, 200);
  auto fourth = chat(b, kOpenAiChat, "Bearer " + token, chat_json("glm-4", "4"));
  EXPECT_EQ(fourth.status, 429) << "3 per minute across both nodes: " << fourth.body;
  EXPECT_EQ(openai_error_code(fourth), "rate_limit_exceeded");
  EXPECT_EQ(surplus_quota(b, "u"), 7) << "one account, seen by both";
}

TEST(PgNodes, AWechatMessageIsTakenOnceAndWrongLoginsAreCountedOnceAcrossNodes) {
  const std::string url = PgCluster::shared().create_database("nodes_login");
  const std::map<std::string, std::string> config = {{"store.url", url}};
  DaemonHarness a(DaemonOptions{config});
  DaemonHarness b(DaemonOptions{config});
  // One signed message replayed to the other node: the nonce was taken on the first.
  const std::string query = fresh_query("nodes-nonce-1");
  auto first = a.request("POST", kPortal + "?" + query, text_message("wx-user", "login"));
  const std::string code = code_in(first.body);
  ASSERT_FALSE(code.empty()) << first.body;
  auto replayed = b.request("POST", kPortal + "?" + query, text_message("thief", "login"));
  EXPECT_EQ(replayed.body, "stale or repeated message");

  // Ten wrong codes spread over both nodes use up the address's minute on both.
  const std::vector<std::pair<std::string, std::string>> form = {
      {"Content-Type", "application/x-www-form-urlencoded"}};
  for (int i = 0; i < 10; ++i) {
    auto& node = i % 2 ? b : a;
    auto wrong = node.request("POST", "/api/v1/auth/login", "code=00000" + std::to_string(i), form);
    EXPECT_EQ(envelope_code(wrong), "0003") << i << ": " << wrong.body;
  }
  auto blocked = a.request("POST", "/api/v1/auth/login", "code=" + code, form);
  EXPECT_EQ(envelope_code(blocked), "0005") << "even the right code waits: " << blocked.body;
  EXPECT_EQ(envelope_code(b.request("POST", "/api/v1/auth/login", "code=" + code, form)), "0005");
}

}  // namespace
}  // namespace chatglmd::testing
