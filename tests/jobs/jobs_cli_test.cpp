// `chatglmd jobs run NAME` through the real binary: what cron sees. 0 all decided, 1 some order
// unclear, 2 usage or configuration error, 75 the lease is held elsewhere.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

#include "job_world.hpp"
#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

using core::OrderState;
using namespace std::chrono_literals;

struct JobsRunCli : ::testing::Test {
  DaemonHarness d{DaemonOptions{{}, {}, false}};  // config, sim and schema; no serve
  std::unique_ptr<store::Store> db = open_store(d.db());
  core::SystemClock clock;
  int next = 1;

  std::string overdue_order() {
    auto id = fmt::format("6{:011d}", next++);
    insert_order(*db, id, clock.now() - core::Millis{31min}, "cli-buyer");
    return id;
  }
  OrderState state(const std::string& id) { return db->orders().get(id)->state; }
  std::string trade_status(const std::string& id) {
    auto t = sim_trade(d.sim().port(), id);
    return t ? std::string(t->at("status").as_string()) : "none";
  }
  CommandResult run(std::vector<std::string> args,
                    const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--json", "jobs", "run"});
    return d.cli(args, env);
  }
  static boost::json::object report(const CommandResult& r) {
    return boost::json::parse(r.out).as_object();
  }
};

TEST_F(JobsRunCli, ExitsZeroWhenEveryOrderIsDecided) {
  auto r = run({"timeout-close"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(report(r).at("selected").as_int64(), 0);

  auto waiting = overdue_order();
  put_trade(d.sim().port(), waiting, "WAIT_BUYER_PAY");
  auto missing = overdue_order();
  r = run({"timeout-close"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto rep = report(r);
  EXPECT_EQ(rep.at("selected").as_int64(), 2);
  EXPECT_EQ(rep.at("done").as_int64(), 2);
  EXPECT_EQ(rep.at("exitCode").as_int64(), 0);
  EXPECT_EQ(state(waiting), OrderState::Closed);
  EXPECT_EQ(state(missing), OrderState::Closed);
  EXPECT_EQ(trade_status(waiting), "TRADE_CLOSED");
  EXPECT_EQ(db->jobs().history("timeout-close", 10).size(), 2u);
}

TEST_F(JobsRunCli, ExitsOneWhenSomeOrderIsUnclear) {
  auto first = overdue_order();
  auto second = overdue_order();
  put_trade(d.sim().port(), second, "WAIT_BUYER_PAY");
  sim_control(d.sim().port(), "/sim/alipay/fault",
              R"({"kind":"http_error","method":"alipay.trade.close","status":503})");
  auto r = run({"timeout-close", "--limit", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto o = db->orders().get(first);
  EXPECT_EQ(o->state, OrderState::Created);
  EXPECT_EQ(o->attempts, 1);
  EXPECT_NE(o->last_error.find("503"), std::string::npos) << o->last_error;
  EXPECT_EQ(db->orders().get(second)->attempts, 0);  // --limit 1: never touched

  r = run({"timeout-close"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(report(r).at("selected").as_int64(), 1);  // `first` is backing off
  EXPECT_EQ(state(second), OrderState::Created);
  EXPECT_EQ(trade_status(second), "WAIT_BUYER_PAY");
  auto runs = db->jobs().history("timeout-close", 10);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].outcome, "partial");

  // The gateway recovers, but both orders wait for their retry time: a clean tick, exit 0.
  sim_control(d.sim().port(), "/sim/alipay/faults/clear", "{}");
  r = run({"timeout-close"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(report(r).at("selected").as_int64(), 0);
}

TEST_F(JobsRunCli, SilentWhenAllWentWellAndTheReasonOnStderrWhenNot) {
  // What cron mails: nothing for a good run, even when the shared INI asks for info logs.
  auto first = overdue_order();
  put_trade(d.sim().port(), first, "WAIT_BUYER_PAY");
  auto quiet = d.cli({"jobs", "run", "timeout-close"}, {{"CHATGLMD_LOG_LEVEL", "info"}});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "");
  EXPECT_EQ(quiet.err, "");
  EXPECT_EQ(state(first), OrderState::Closed) << "the silent run did its work";

  // --verbose shows the report and what happened to each order.
  auto second = overdue_order();
  put_trade(d.sim().port(), second, "WAIT_BUYER_PAY");
  auto verbose = d.cli({"jobs", "run", "timeout-close", "--verbose"});
  EXPECT_EQ(verbose.exit_code, 0) << verbose.err;
  EXPECT_NE(verbose.out.find("outcome"), std::string::npos) << verbose.out;
  EXPECT_NE(verbose.err.find(second), std::string::npos) << verbose.err;

  // Something left unclear: exit 1, stdout empty, the reason on stderr.
  auto third = overdue_order();
  sim_control(d.sim().port(), "/sim/alipay/fault",
              R"({"kind":"http_error","method":"alipay.trade.close","status":503})");
  auto failing = d.cli({"jobs", "run", "timeout-close"});
  EXPECT_EQ(failing.exit_code, 1) << failing.err;
  EXPECT_EQ(failing.out, "");
  EXPECT_NE(failing.err.find("1 of 1 orders unclear"), std::string::npos) << failing.err;
  EXPECT_NE(failing.err.find(third), std::string::npos) << failing.err;
}

TEST_F(JobsRunCli, ExitsTwoOnUsageAndConfigurationErrors) {
  auto id = overdue_order();
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"no-such-job"},
                                             {},
                                             {"timeout-close", "extra"},
                                             {"timeout-close", "--limit", "0"},
                                             {"timeout-close", "--limit", "x"},
                                             {"timeout-close", "--status", "paid"}}) {
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 2) << fmt::format("{}", fmt::join(args, " ")) << "\n" << r.err;
  }
  // A key file that is not there, an out-of-range setting, a key nobody knows.
  EXPECT_EQ(run({"timeout-close"}, {{"CHATGLMD_ALIPAY_PRIVATE_KEY_FILE", d.dir() + "/missing.pem"}})
                .exit_code,
            2);
  EXPECT_EQ(run({"timeout-close"}, {{"CHATGLMD_JOBS_TIMEOUT_CLOSE_BATCH", "0"}}).exit_code, 2);
  EXPECT_EQ(run({"timeout-close"}, {{"CHATGLMD_ALIPAY_APP_ID", ""}}).exit_code, 2);
  EXPECT_EQ(state(id), OrderState::Created);  // none of them touched anything
  EXPECT_TRUE(db->jobs().history("timeout-close", 10).empty());
}

TEST_F(JobsRunCli, ExitsSeventyFiveWhileAnotherProcessHoldsTheLease) {
  auto id = overdue_order();
  const auto now = clock.now();
  ASSERT_TRUE(db->jobs().try_acquire("timeout-close", "elsewhere:4242:serve", now,
                                     now + core::Millis{10min}));
  auto r = run({"timeout-close"});
  EXPECT_EQ(r.exit_code, 75) << r.err;
  EXPECT_NE(r.err.find("lease held"), std::string::npos) << r.err;
  EXPECT_EQ(state(id), OrderState::Created);
  EXPECT_TRUE(db->jobs().history("timeout-close", 10).empty());
  // Other jobs have their own lease.
  EXPECT_EQ(run({"reconcile"}).exit_code, 0);

  // A holder that died leaves a lease that expires; then the job runs again.
  db->jobs().release("timeout-close", "elsewhere:4242:serve");
  ASSERT_TRUE(db->jobs().try_acquire("timeout-close", "dead:1:serve", now - core::Millis{10min},
                                     now - core::Millis{1s}));
  r = run({"timeout-close"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state(id), OrderState::Closed);
}

TEST_F(JobsRunCli, DryRunChangesNothingAndDisabledJobsStillRun) {
  auto id = overdue_order();
  put_trade(d.sim().port(), id, "WAIT_BUYER_PAY");
  auto r = run({"timeout-close", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(report(r).at("dryRun").as_bool());
  EXPECT_EQ(report(r).at("done").as_int64(), 1);
  EXPECT_EQ(state(id), OrderState::Created);
  EXPECT_EQ(trade_status(id), "WAIT_BUYER_PAY");
  EXPECT_TRUE(db->jobs().history("timeout-close", 10).empty());

  // enabled=false only turns the built-in scheduler off (cron-only hosts).
  r = run({"timeout-close"}, {{"CHATGLMD_JOBS_TIMEOUT_CLOSE_ENABLED", "false"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state(id), OrderState::Closed);
}

TEST_F(JobsRunCli, ListAndHistoryShowScheduleAndOutcomes) {
  auto list = d.cli({"jobs", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto jobs = boost::json::parse(list.out).as_array();
  ASSERT_EQ(jobs.size(), 6u);  // ... close-followup, refund-query, chat-log-prune
  for (const auto& j : jobs) {
    EXPECT_TRUE(j.at("enabled").as_bool());
    EXPECT_TRUE(j.at("lastRun").is_null()) << "never ran";
    EXPECT_EQ(j.at("interval").as_string(), j.at("job") == "chat-log-prune" ? "1h" : "1m");
  }
  EXPECT_EQ(jobs[0].at("job").as_string(), "timeout-close");
  EXPECT_EQ(jobs[0].at("after").as_string(), "30m");
  EXPECT_EQ(jobs[3].at("job").as_string(), "close-followup");
  EXPECT_EQ(jobs[3].at("after").as_string(), "5m");

  auto missing = overdue_order();
  ASSERT_EQ(run({"timeout-close"}).exit_code, 0);
  ASSERT_EQ(state(missing), OrderState::Closed);
  ASSERT_EQ(run({"reconcile"}).exit_code, 0);

  auto history = d.cli({"jobs", "history", "timeout-close", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  auto runs = boost::json::parse(history.out).as_array();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].at("outcome").as_string(), "ok");
  EXPECT_EQ(runs[0].at("selected").as_int64(), 1);
  EXPECT_EQ(runs[0].at("done").as_int64(), 1);
  EXPECT_EQ(boost::json::parse(d.cli({"jobs", "history", "--json"}).out).as_array().size(), 2u);
  EXPECT_EQ(d.cli({"jobs", "history", "no-such-job"}).exit_code, 2);

  jobs = boost::json::parse(d.cli({"jobs", "list", "--json"}).out).as_array();
  EXPECT_EQ(jobs[0].at("lastOutcome").as_string(), "ok");
  EXPECT_FALSE(jobs[0].at("nextRun").is_null());
  EXPECT_TRUE(jobs[1].at("lastRun").is_null()) << "replenish-shipment has not run";
  auto table = d.cli({"jobs", "list"});
  EXPECT_NE(table.out.find("JOB"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("reconcile"), std::string::npos) << table.out;
}

TEST_F(JobsRunCli, ListAndHistoryReadTruthfully) {
  auto list = d.cli({"jobs", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  // A job that never ran has no next time yet: the scheduler starts it when serve starts.
  EXPECT_NE(list.out.find("never run: when serve starts"), std::string::npos) << list.out;
  auto json = boost::json::parse(d.cli({"--json", "jobs", "list"}).out).as_array();
  EXPECT_TRUE(json[0].at("nextRun").is_null()) << json;

  ASSERT_EQ(run({"timeout-close"}).exit_code, 0);
  auto history = d.cli({"jobs", "history"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_TRUE(std::regex_search(history.out, std::regex(R"( \d+\.\d{3}s )"))) << history.out;
  EXPECT_EQ(history.out.find("E-"), std::string::npos) << history.out;
  auto rows = boost::json::parse(d.cli({"--json", "jobs", "history"}).out).as_array();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].at("seconds").is_number()) << rows[0];
}

}  // namespace
}  // namespace chatglmd::testing
