// Every reason the chat pipeline refuses, on both chat paths, through a real daemon: the original
// path answers an envelope code, /v1 an OpenAI error with its HTTP status. A refusal costs no
// quota and never reaches the upstream.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "daemon/daemon_client.hpp"
#include "llm/jwt.hpp"

namespace chatglmd::testing {
namespace {

constexpr const char* kSecret = "test-token-secret-0123456789";  // what the harness writes

core::UtcMs wall_now() {
  return core::UtcMs{std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()};
}

std::int64_t upstream_chats(SimProcess& sim) {
  return glm_stats(sim).at("chat_requests").to_number<std::int64_t>();
}

// One refusal, seen on both paths.
struct Refusal {
  std::string envelope;  // original path code
  int status;            // /v1 HTTP status
  std::string openai;    // /v1 error.code
};

void expect_refused(DaemonHarness& d, const std::string& authorization, const std::string& body,
                    const Refusal& want, const std::string& what) {
  SCOPED_TRACE(what);
  const auto upstream_before = upstream_chats(d.sim());
  auto original = chat(d, kOriginalChat, authorization, body);
  EXPECT_EQ(original.status, 200) << original.raw;
  EXPECT_EQ(envelope_code(original), want.envelope) << original.body;
  EXPECT_EQ(original.body.find("\"info\":\"\""), std::string::npos)
      << "a clear message, not just a code";

  auto openai = chat(d, kOpenAiChat, authorization, body);
  EXPECT_EQ(openai.status, want.status) << openai.raw;
  EXPECT_EQ(openai_error_code(openai), want.openai) << openai.body;
  EXPECT_EQ(upstream_chats(d.sim()), upstream_before) << "a refused chat reached the upstream";
}

void expect_answered(DaemonHarness& d, const std::string& path, const std::string& token,
                     const std::string& model = "glm-4") {
  auto r = chat(d, path, "Bearer " + token, chat_json(model, "ping"));
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_NE(r.body.find("Echo: ping"), std::string::npos) << path << ": " << r.body;
}

const Refusal kUnauthorised{"0003", 401, "invalid_api_key"};

struct ChatRefusals : ::testing::Test {
  static void SetUpTestSuite() { daemon = new DaemonHarness(); }
  static void TearDownTestSuite() {
    delete daemon;
    daemon = nullptr;
  }
  static DaemonHarness* daemon;
  DaemonHarness& d = *daemon;
  const std::string body = chat_json("glm-4", "hello");
};
DaemonHarness* ChatRefusals::daemon = nullptr;

TEST_F(ChatRefusals, MissingForgedAndExpiredTokens) {
  run_ok(d, {"user", "add", "tok-user", "--quota", "5"});
  expect_refused(d, "", body, kUnauthorised, "no Authorization header");
  expect_refused(d, "Bearer ", body, kUnauthorised, "empty bearer");
  expect_refused(d, "Bearer not.a.jwt", body, kUnauthorised, "garbage");

  const auto now = wall_now();
  const auto week = std::chrono::seconds(7 * 86400);
  expect_refused(d, "Bearer " + llm::make_user_token("tok-user", "another-secret", now, week), body,
                 kUnauthorised, "signed with another secret");
  // A real token whose payload is swapped for another user's keeps a signature that no longer fits.
  std::string mine = llm::make_user_token("tok-user", kSecret, now, week);
  std::string theirs = llm::make_user_token("someone-else", kSecret, now, week);
  std::string spliced = mine.substr(0, mine.find('.')) +
                        theirs.substr(theirs.find('.'), theirs.rfind('.') - theirs.find('.')) +
                        mine.substr(mine.rfind('.'));
  expect_refused(d, "Bearer " + spliced, body, kUnauthorised, "payload swapped");
  // Issued eight days ago with the default seven-day lifetime, signed with the right secret.
  std::string expired =
      llm::make_user_token("tok-user", kSecret, core::UtcMs{now.ms - 8LL * 86400 * 1000}, week);
  expect_refused(d, "Bearer " + expired, body, kUnauthorised, "expired");
  EXPECT_EQ(surplus_quota(d, "tok-user"), 5);

  // The same user with a good token, bare or as Bearer, is served.
  auto bare = chat(d, kOriginalChat, mine, body);
  EXPECT_NE(bare.body.find("Echo: hello"), std::string::npos) << bare.raw;
  expect_answered(d, kOpenAiChat, mine);
  EXPECT_EQ(surplus_quota(d, "tok-user"), 3);
}

TEST_F(ChatRefusals, FrozenAccountAtOnceAndUnfrozenAtOnce) {
  run_ok(d, {"user", "add", "frozen-user", "--quota", "5"});
  std::string token = d.token_for("frozen-user");
  expect_answered(d, kOriginalChat, token);
  run_ok(d, {"user", "freeze", "frozen-user"});
  expect_refused(d, "Bearer " + token, body, {"0007", 403, "account_frozen"}, "frozen");
  EXPECT_EQ(surplus_quota(d, "frozen-user"), 4);
  run_ok(d, {"user", "unfreeze", "frozen-user"});
  expect_answered(d, kOpenAiChat, token);
  EXPECT_EQ(surplus_quota(d, "frozen-user"), 3);
}

TEST_F(ChatRefusals, ModelOutsideThePlanOrNotServed) {
  run_ok(d, {"user", "add", "plan-user", "--quota", "5", "--models", "glm-4"});
  std::string token = d.token_for("plan-user");
  expect_refused(d, "Bearer " + token, chat_json("glm-3-turbo", "hello"),
                 {"0008", 403, "model_not_allowed"}, "served but not in the plan");
  expect_refused(d, "Bearer " + token, chat_json("gpt-4o", "hello"),
                 {"0002", 400, "invalid_request"}, "not served here");
  EXPECT_EQ(surplus_quota(d, "plan-user"), 5);
  expect_answered(d, kOriginalChat, token, "glm-4");

  // A user whose plan names no models may use every served model.
  run_ok(d, {"user", "add", "any-model-user", "--quota", "5"});
  expect_answered(d, kOpenAiChat, d.token_for("any-model-user"), "glm-3-turbo");
}

// The front keeps a chat start's account status and models in memory: a grant from another
// process that adds a model moves the account stamp and applies to the next chat.
TEST_F(ChatRefusals, AGrantThatAddsAModelAppliesAtOnce) {
  run_ok(d, {"user", "add", "growing-plan", "--quota", "5", "--models", "glm-4"});
  std::string token = d.token_for("growing-plan");
  expect_answered(d, kOriginalChat, token, "glm-4");
  expect_answered(d, kOpenAiChat, token, "glm-4");  // the account from memory this time
  expect_refused(d, "Bearer " + token, chat_json("glm-3-turbo", "hello"),
                 {"0008", 403, "model_not_allowed"}, "not in the plan yet");
  run_ok(d, {"user", "grant", "growing-plan", "1", "--models", "glm-3-turbo"});
  expect_answered(d, kOpenAiChat, token, "glm-3-turbo");
  EXPECT_EQ(surplus_quota(d, "growing-plan"), 3);
}

TEST_F(ChatRefusals, QuotaUsedUpAndNoAccount) {
  run_ok(d, {"user", "add", "last-chat", "--quota", "1"});
  std::string token = d.token_for("last-chat");
  expect_answered(d, kOriginalChat, token);
  EXPECT_EQ(surplus_quota(d, "last-chat"), 0);
  const Refusal no_quota{"0006", 429, "insufficient_quota"};
  expect_refused(d, "Bearer " + token, body, no_quota, "used up");
  EXPECT_EQ(surplus_quota(d, "last-chat"), 0);  // never below zero
  // Free chats are off by default: a user who never bought anything gets nothing.
  expect_refused(d, "Bearer " + d.token_for("never-bought"), body, no_quota, "no account");
  EXPECT_TRUE(user_json(d, "never-bought").is_null());
  run_ok(d, {"user", "grant", "last-chat", "2"});
  expect_answered(d, kOpenAiChat, token);
}

// Rate limit and free chats are per user across both paths: a second path is no second budget.
struct ChatLimitsDaemon : ::testing::Test {
  static void SetUpTestSuite() {
    DaemonOptions options;
    options.config = {
        {"chat.rate_limit", "4"}, {"chat.free_chats", "2"}, {"auth.whitelist", "vip-config"}};
    options.start = false;
    daemon = new DaemonHarness(options);
    run_ok(*daemon, {"whitelist", "add", "vip-store"});  // the store's list, loaded at start
    daemon->start();
  }
  static void TearDownTestSuite() {
    delete daemon;
    daemon = nullptr;
  }
  static DaemonHarness* daemon;
  DaemonHarness& d = *daemon;
  const std::string body = chat_json("glm-4", "hello");
};
DaemonHarness* ChatLimitsDaemon::daemon = nullptr;

TEST_F(ChatLimitsDaemon, RateLimitCountsBothPathsAndSpendsNothing) {
  run_ok(d, {"user", "add", "busy-user", "--quota", "50"});
  std::string token = d.token_for("busy-user");
  expect_answered(d, kOriginalChat, token);
  expect_answered(d, kOpenAiChat, token);
  expect_answered(d, kOriginalChat, token);
  expect_answered(d, kOpenAiChat, token);
  expect_refused(d, "Bearer " + token, body, {"0005", 429, "rate_limit_exceeded"},
                 "fifth in a minute");
  EXPECT_EQ(surplus_quota(d, "busy-user"), 46);
  // Another user is not held back by this one.
  run_ok(d, {"user", "add", "calm-user", "--quota", "5"});
  expect_answered(d, kOpenAiChat, d.token_for("calm-user"));
}

TEST_F(ChatLimitsDaemon, WhitelistedUsersAreNotRateLimited) {
  for (std::string vip : {"vip-config", "vip-store"}) {
    run_ok(d, {"user", "add", vip, "--quota", "50"});
    std::string token = d.token_for(vip);
    for (int i = 0; i < 7; ++i) expect_answered(d, i % 2 ? kOpenAiChat : kOriginalChat, token);
    EXPECT_EQ(surplus_quota(d, vip), 43);
  }
}

TEST_F(ChatLimitsDaemon, FreeChatsForAUserWithoutQuotaAcrossBothPaths) {
  std::string token = d.token_for("free-rider");
  expect_answered(d, kOriginalChat, token);
  expect_answered(d, kOpenAiChat, token);
  expect_refused(d, "Bearer " + token, body, {"0006", 429, "insufficient_quota"},
                 "third free chat");
  // Free chats create no account and move no quota.
  EXPECT_TRUE(user_json(d, "free-rider").is_null());

  // A user whose bought quota is spent tries the free chats too, after the paid ones.
  run_ok(d, {"user", "add", "spent-user", "--quota", "1"});
  std::string spent = d.token_for("spent-user");
  expect_answered(d, kOriginalChat, spent);
  EXPECT_EQ(surplus_quota(d, "spent-user"), 0);
  expect_answered(d, kOpenAiChat, spent);
  EXPECT_EQ(surplus_quota(d, "spent-user"), 0);
}

}  // namespace
}  // namespace chatglmd::testing
