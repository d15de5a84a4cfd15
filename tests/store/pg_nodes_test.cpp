// Two `chatglmd serve` nodes on one PostgreSQL store: what one node did, the other sees, and the
// per-user chat budgets are counted once for both.
#include <gtest/gtest.h>

#include "daemon/daemon_client.hpp"
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

}  // namespace
}  // namespace chatglmd::testing
