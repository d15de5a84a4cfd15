// The usage log and the admin API through a real daemon and simulator: every chat leaves one
// chat_log row with its outcome, tokens and times; `usage` and `user show` sum it; the
// chat-log-prune job removes what is older than chat.log_days; /admin/ is off without a token
// and refuses a wrong one.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "daemon/daemon_client.hpp"
#include "jobs/job_world.hpp"

namespace chatglmd::testing {
namespace {

namespace json = boost::json;

constexpr const char* kAdminToken = "daemon-test-admin-token-0123456789";

std::vector<std::vector<std::string>> log_rows(const DaemonHarness& d, const std::string& openid) {
  return sql_rows(d.db(),
                  "SELECT model, endpoint, outcome, ttft_ms, prompt_tokens, completion_tokens, "
                  "duration_ms >= 0 FROM chat_log WHERE openid = '" +
                      openid + "' ORDER BY id");
}

// The rows are written after the answer, on the group committer: wait for them.
std::vector<std::vector<std::string>> wait_rows(const DaemonHarness& d, const std::string& openid,
                                                std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto rows = log_rows(d, openid);
  while (rows.size() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a bounded poll, not a timer
    rows = log_rows(d, openid);
  }
  return rows;
}

struct UsageLog : ::testing::Test {
  static void SetUpTestSuite() {
    admin_dir = new TempDir();
    std::ofstream(admin_dir->file("admin_token")) << kAdminToken << "\n";
    DaemonOptions o;
    o.config["auth.admin_token_file"] = admin_dir->file("admin_token");
    o.config["chat.log_days"] = "30";
    daemon = new DaemonHarness(o);
  }
  static void TearDownTestSuite() {
    delete daemon;
    delete admin_dir;
  }
  static DaemonHarness* daemon;
  static TempDir* admin_dir;
  DaemonHarness& d = *daemon;
};
DaemonHarness* UsageLog::daemon = nullptr;
TempDir* UsageLog::admin_dir = nullptr;

TEST_F(UsageLog, EveryChatLeavesOneRowWithItsOutcome) {
  run_ok(d, {"user", "add", "log-user", "--quota", "2", "--models", "glm-4"});
  const std::string token = "Bearer " + d.token_for("log-user");
  auto ok = chat(d, kOriginalChat, token, chat_json("glm-4", "hello"));
  ASSERT_EQ(ok.status, 200);
  auto ok2 = chat(d, kOpenAiChat, token, chat_json("glm-4", "hello", R"("stream":true)"));
  ASSERT_EQ(ok2.status, 200);
  auto no_model = chat(d, kOriginalChat, token, chat_json("glm-3-turbo", "hello"));
  EXPECT_EQ(envelope_code(no_model), "0008");
  auto no_quota = chat(d, kOriginalChat, token, chat_json("glm-4", "hello"));
  EXPECT_EQ(envelope_code(no_quota), "0006");
  run_ok(d, {"user", "grant", "log-user", "1"});
  glm_fault(d.sim(), "http_500");
  auto failed = chat(d, kOriginalChat, token, chat_json("glm-4", "hello"));
  EXPECT_EQ(envelope_code(failed), "0009");
  chat(d, kOriginalChat, "Bearer forged", chat_json("glm-4", "hello"));  // no user: not logged

  auto rows = wait_rows(d, "log-user", 5);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0][0], "glm-4");
  EXPECT_EQ(rows[0][1], "original");
  EXPECT_EQ(rows[0][2], "ok");
  EXPECT_NE(rows[0][3], "") << "time to first token";
  EXPECT_NE(rows[0][4], "") << "prompt tokens from the upstream's usage";
  EXPECT_NE(rows[0][5], "") << "completion tokens";
  EXPECT_EQ(rows[0][6], "1");
  EXPECT_EQ(rows[1][1], "openai");
  EXPECT_EQ(rows[1][2], "ok");
  EXPECT_EQ(rows[2][2], "refused:model");
  EXPECT_EQ(rows[2][3], "") << "no text, no first token";
  EXPECT_EQ(rows[3][2], "refused:quota");
  EXPECT_EQ(rows[4][2], "upstream:upstream");
  EXPECT_EQ(sql_int(d.db(), "SELECT COUNT(*) FROM chat_log WHERE openid NOT IN ('log-user')"), 0);

  auto usage = d.cli({"usage", "--by", "user", "--json"});
  ASSERT_EQ(usage.exit_code, 0) << usage.err;
  auto users = json::parse(usage.out).as_array();
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].at("chats").to_number<int>(), 5);
  EXPECT_EQ(users[0].at("answered").to_number<int>(), 2);

  auto show = d.cli({"user", "show", "log-user", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto days = json::parse(show.out).at("usage").as_array();
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].at("chats").to_number<int>(), 5);
  auto text = d.cli({"user", "show", "log-user"});
  EXPECT_NE(text.out.find("chats in the last 30 days"), std::string::npos) << text.out;
  EXPECT_EQ(d.cli({"usage", "--by", "week"}).exit_code, 2);
  EXPECT_EQ(d.cli({"usage", "--since", "yesterday"}).exit_code, 2);
}

// What a user can send at will must not grow the log: rate-limited and malformed requests are
// only counted in the metrics, and a model the daemon does not serve is stored as "(other)".
TEST(UsageLogBounded, RateLimitAndBadRequestsLeaveNoRowAndModelsAreServedOnes) {
  DaemonOptions o;
  o.config["chat.rate_limit"] = "2";
  DaemonHarness d(o);
  run_ok(d, {"user", "add", "flood-user", "--quota", "5"});
  const std::string token = "Bearer " + d.token_for("flood-user");
  ASSERT_EQ(chat(d, kOriginalChat, token, chat_json("glm-4", "hello")).status, 200);
  ASSERT_EQ(chat(d, kOriginalChat, token, chat_json("glm-4", "hello")).status, 200);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(envelope_code(chat(d, kOriginalChat, token, chat_json("glm-4", "hello"))), "0005");
  auto rows = wait_rows(d, "flood-user", 2);
  EXPECT_EQ(rows.size(), 2u) << "the two answered chats only, no row per rate-limited request";
  auto metrics = d.request("GET", "/metrics");
  EXPECT_NE(metrics.body.find(R"(chatglmd_chat_refused_total{check="rate_limit"} 5)"),
            std::string::npos)
      << metrics.body;

  run_ok(d, {"user", "add", "odd-user", "--quota", "5"});
  const std::string odd = "Bearer " + d.token_for("odd-user");
  auto too_long = chat(d, kOriginalChat, odd, chat_json(std::string(65, 'm'), "hello"));
  EXPECT_EQ(envelope_code(too_long), "0002") << too_long.body;
  auto odd_chars = chat(d, kOriginalChat, odd, chat_json("glm 4<script>", "hello"));
  EXPECT_EQ(envelope_code(odd_chars), "0002") << odd_chars.body;
  EXPECT_EQ(envelope_code(chat(d, kOriginalChat, odd, chat_json("glm-unknown", "hello"))), "0002")
      << "a well-formed model that is not served is a bad request too";
  run_ok(d, {"user", "freeze", "odd-user"});
  EXPECT_EQ(envelope_code(chat(d, kOriginalChat, odd, chat_json("no-such-model", "hello"))),
            "0007");
  auto odd_rows = wait_rows(d, "odd-user", 1);
  ASSERT_EQ(odd_rows.size(), 1u) << "only the frozen refusal is logged";
  EXPECT_EQ(odd_rows[0][0], "(other)") << "a model not served is not stored verbatim";
  EXPECT_EQ(odd_rows[0][2], "refused:frozen");
}

TEST(UsageLogReport, ACutListOfUsersSaysSo) {
  DaemonHarness d;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  sql_exec(d.db(),
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1001) "
           "INSERT INTO chat_log (openid, model, endpoint, started_at, duration_ms, outcome) "
           "SELECT 'many-' || i, 'glm-4', 'original', " +
               std::to_string(now - 60'000) + ", 1, 'ok' FROM n");
  auto all = d.cli({"usage", "--by", "user", "--json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(json::parse(all.out).as_array().size(), 1000u);
  EXPECT_NE(all.err.find("only the first 1000 users are shown"), std::string::npos) << all.err;
  sql_exec(d.db(), "DELETE FROM chat_log WHERE openid = 'many-1'");
  auto whole = d.cli({"usage", "--by", "user", "--json"});
  EXPECT_EQ(json::parse(whole.out).as_array().size(), 1000u);
  EXPECT_EQ(whole.err.find("only the first"), std::string::npos) << "1000 users: not cut";
}

TEST_F(UsageLog, ThePruneJobKeepsLogDays) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::int64_t day = 86'400'000;
  for (std::int64_t age : {31 * day, 40 * day, 29 * day}) {
    sql_exec(d.db(),
             "INSERT INTO chat_log (openid, model, endpoint, started_at, duration_ms, outcome) "
             "VALUES ('old-user', 'glm-4', 'original', " +
                 std::to_string(now - age) + ", 1, 'ok')");
  }
  auto run = d.cli({"jobs", "run", "chat-log-prune", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  EXPECT_EQ(json::parse(run.out).at("done").to_number<int>(), 1);
  EXPECT_EQ(sql_int(d.db(), "SELECT COUNT(*) FROM chat_log WHERE openid = 'old-user'"), 1)
      << "rows older than chat.log_days = 30 are gone, the 29-day-old one stays";
  auto again = d.cli({"jobs", "run", "chat-log-prune", "--json"});
  EXPECT_EQ(json::parse(again.out).at("selected").to_number<int>(), 0) << "nothing due";
}

// A chat-only host (no [alipay] app_id) keeps its usage log pruned too: chat-log-prune never
// asks Alipay, so it runs there; the order jobs still refuse without a gateway.
TEST(UsageLogWithoutAlipay, ThePruneJobRunsOnAChatOnlyHost) {
  DaemonOptions o;
  o.config["alipay.app_id"] = "";
  o.config["chat.log_days"] = "30";
  DaemonHarness d(o);
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  sql_exec(d.db(),
           "INSERT INTO chat_log (openid, model, endpoint, started_at, duration_ms, outcome) "
           "VALUES ('old-user', 'glm-4', 'original', " +
               std::to_string(now - 40 * std::int64_t{86'400'000}) + ", 1, 'ok')");
  auto run = d.cli({"jobs", "run", "chat-log-prune", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  EXPECT_EQ(sql_int(d.db(), "SELECT COUNT(*) FROM chat_log"), 0);
  EXPECT_EQ(d.cli({"jobs", "run", "timeout-close"}).exit_code, 2)
      << "a job that asks Alipay still needs alipay.app_id";
}

TEST_F(UsageLog, TheAdminApiWantsItsToken) {
  EXPECT_EQ(d.request("GET", "/admin/api/summary").status, 401);
  EXPECT_EQ(d.request("GET", "/admin/api/summary", "", {{"Authorization", "Bearer nope"}}).status,
            401);
  auto r = d.request("GET", "/admin/api/summary?days=3", "",
                     {{"Authorization", std::string("Bearer ") + kAdminToken}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = json::parse(r.body).as_object();
  for (const char* key :
       {"revenue", "funnel", "chats", "ttft", "top-users", "jobs", "notify-rejections"})
    EXPECT_TRUE(o.contains(key)) << key;
  EXPECT_EQ(o.at("chats").at("days").as_array().size(), 3u);
  auto bad = d.request("GET", "/admin/api/summary?days=0", "",
                       {{"Authorization", std::string("Bearer ") + kAdminToken}});
  EXPECT_EQ(bad.status, 400);
  auto page = d.request("GET", "/admin/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("admin.js"), std::string::npos);
}

// A cron-only host: the scheduler runs no job (`jobs run` from cron does), so the dashboard
// measures each job's backlog from the store, not from this process's ticks.
TEST(AdminJobs, OnACronOnlyHostTheBacklogComesFromTheStore) {
  TempDir dir;
  std::ofstream(dir.file("admin_token")) << kAdminToken << "\n";
  DaemonOptions o;
  o.config["auth.admin_token_file"] = dir.file("admin_token");
  for (const char* job : {"timeout-close", "replenish-shipment", "reconcile", "close-followup",
                          "refund-query", "chat-log-prune"})
    o.config[std::string("jobs.") + job + ".enabled"] = "false";
  DaemonHarness d(o);
  {
    auto store = open_store(d.db());
    core::SystemClock clock;
    // Due for timeout-close (after 30m): placed 40 and 50 minutes ago; due for reconcile (after
    // 1m, until timeout-close takes them): placed 5 minutes ago.
    insert_order(*store, "500000000001", clock.now() - core::Millis{std::chrono::minutes(40)}, "a");
    insert_order(*store, "500000000002", clock.now() - core::Millis{std::chrono::minutes(50)}, "b");
    insert_order(*store, "500000000003", clock.now() - core::Millis{std::chrono::minutes(5)}, "c");
  }
  auto r = d.request("GET", "/admin/api/jobs", "",
                     {{"Authorization", std::string("Bearer ") + kAdminToken}});
  ASSERT_EQ(r.status, 200) << r.raw;
  std::map<std::string, json::object> jobs;
  const json::value parsed = json::parse(r.body);
  for (const auto& j : parsed.as_array())
    jobs[std::string(j.at("name").as_string())] = j.as_object();
  ASSERT_EQ(jobs.count("timeout-close"), 1u) << r.body;
  EXPECT_EQ(jobs["timeout-close"].at("backlog").to_number<std::int64_t>(), 2) << r.body;
  // The age of the oldest due order, as the job's gauge has it: placed 50 minutes ago.
  const double oldest = jobs["timeout-close"].at("oldestDueSeconds").to_number<double>();
  EXPECT_GE(oldest, 50 * 60.0) << r.body;
  EXPECT_LT(oldest, 50 * 60.0 + 60) << r.body;
  EXPECT_EQ(jobs["reconcile"].at("backlog").to_number<std::int64_t>(), 1) << r.body;
  EXPECT_EQ(jobs["replenish-shipment"].at("backlog").to_number<std::int64_t>(), 0) << r.body;
  EXPECT_TRUE(jobs["timeout-close"].at("lastRun").is_null()) << "no tick ran anywhere";
}

TEST(AdminOff, WithoutATokenFileTheDashboardDoesNotExist) {
  DaemonHarness d;
  EXPECT_EQ(d.request("GET", "/admin/").status, 404);
  EXPECT_EQ(d.request("GET", "/admin/api/summary", "", {{"Authorization", "Bearer x"}}).status,
            404);
}

TEST(AdminOff, AShortTokenIsAConfigError) {
  TempDir dir;
  std::ofstream(dir.file("admin_token")) << "short\n";
  DaemonOptions o;
  o.config["auth.admin_token_file"] = dir.file("admin_token");
  o.start = false;
  DaemonHarness d(o);
  auto check = d.cli({"check-config"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find("fewer than 16 characters"), std::string::npos) << check.err;
  EXPECT_EQ(check.err.find("short"), std::string::npos) << "the token is never printed";
}

}  // namespace
}  // namespace chatglmd::testing
