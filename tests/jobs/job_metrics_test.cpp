// /metrics of a real `serve`: every job's series exist (at 0) before any tick, and move when
// ticks run.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "job_world.hpp"
#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;

const char* const kJobs[] = {"timeout-close", "replenish-shipment", "reconcile", "close-followup",
                             "refund-query"};

// "name{a="x",b="y"}" -> value, with labels sorted by name so lookups do not depend on order.
std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    std::string series = line.substr(0, space);
    std::map<std::string, std::string> labels;
    std::string name = series;
    if (auto brace = series.find('{'); brace != std::string::npos) {
      name = series.substr(0, brace);
      std::string body = series.substr(brace + 1, series.size() - brace - 2);
      std::size_t pos = 0;
      while (pos < body.size()) {
        auto eq = body.find('=', pos);
        auto close = body.find('"', eq + 2);
        labels[body.substr(pos, eq - pos)] = body.substr(eq + 2, close - eq - 2);
        pos = close + 2;  // past `",`
      }
    }
    std::string key = name + "{";
    for (const auto& [k, v] : labels) key += k + "=" + v + ",";
    out[key + "}"] = std::stod(line.substr(space + 1));
  }
  return out;
}

std::string key(const std::string& name, const std::map<std::string, std::string>& labels) {
  std::string k = name + "{";
  for (const auto& [l, v] : labels) k += l + "=" + v + ",";
  return k + "}";
}

std::map<std::string, double> scrape(const DaemonHarness& d) {
  auto r = d.request("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  return parse_metrics(r.body);
}

TEST(JobMetricsOverHttp, EveryJobReadsZeroBeforeAnyTick) {
  // No job enabled: nothing can tick, so 0 is the state before a tick, not a lucky moment.
  DaemonHarness d{DaemonOptions{{{"jobs.timeout-close.enabled", "false"},
                                 {"jobs.replenish-shipment.enabled", "false"},
                                 {"jobs.reconcile.enabled", "false"},
                                 {"jobs.close-followup.enabled", "false"},
                                 {"jobs.refund-query.enabled", "false"}},
                                {}}};
  auto m = scrape(d);
  auto expect_zero = [&](const std::string& name,
                         const std::map<std::string, std::string>& labels) {
    auto it = m.find(key(name, labels));
    ASSERT_NE(it, m.end()) << key(name, labels) << " missing";
    EXPECT_EQ(it->second, 0.0) << key(name, labels);
  };
  for (const char* job : kJobs) {
    for (const char* o : {"ok", "partial", "skipped", "failed"})
      expect_zero("chatglmd_job_runs_total", {{"job", job}, {"outcome", o}});
    for (const char* o : {"done", "unclear", "skipped"})
      expect_zero("chatglmd_job_items_total", {{"job", job}, {"outcome", o}});
    for (const char* r : {"acquired", "skipped"})
      expect_zero("chatglmd_job_lease_total", {{"job", job}, {"result", r}});
    expect_zero("chatglmd_job_tick_seconds_count", {{"job", job}});
    expect_zero("chatglmd_job_backlog", {{"job", job}});
    expect_zero("chatglmd_job_oldest_due_seconds", {{"job", job}});
  }
  for (const char* cause : {"notify", "reconcile", "timeout-close", "admin", "replenish-shipment"})
    expect_zero("chatglmd_deliveries_total", {{"cause", cause}});
  for (const char* action : {"deliver", "refund"})
    expect_zero("chatglmd_late_payment_total", {{"action", action}});
  for (const char* outcome : {"succeeded", "failed", "unclear"})
    expect_zero("chatglmd_refunds_total", {{"outcome", outcome}});
  expect_zero("chatglmd_refunded_fen_total", {});
  EXPECT_EQ(d.terminate(), 0);
}

TEST(JobMetricsOverHttp, TicksMoveTheCounters) {
  DaemonHarness d{DaemonOptions{{{"jobs.timeout-close.interval", "1s"}}, {}, false}};
  auto db = open_store(d.db());
  core::SystemClock clock;
  const auto overdue = clock.now() - core::Millis{40min};
  insert_order(*db, "900000000001", overdue, "metrics-1");  // no trade: closed
  insert_order(*db, "900000000002", overdue, "metrics-2");
  put_trade(d.sim().port(), "900000000002", "TRADE_SUCCESS");  // paid: delivered by timeout-close
  d.start();
  std::map<std::string, double> m;
  ASSERT_TRUE(eventually([&] {
    m = scrape(d);
    return m[key("chatglmd_job_runs_total", {{"job", "timeout-close"}, {"outcome", "ok"}})] >= 1;
  })) << d.log();
  EXPECT_EQ(m[key("chatglmd_job_items_total", {{"job", "timeout-close"}, {"outcome", "done"}})],
            2.0);
  EXPECT_EQ(m[key("chatglmd_job_items_total", {{"job", "timeout-close"}, {"outcome", "unclear"}})],
            0.0);
  EXPECT_GE(m[key("chatglmd_job_lease_total", {{"job", "timeout-close"}, {"result", "acquired"}})],
            1.0);
  EXPECT_GE(m[key("chatglmd_job_tick_seconds_count", {{"job", "timeout-close"}})], 1.0);
  EXPECT_EQ(m[key("chatglmd_job_backlog", {{"job", "timeout-close"}})], 0.0);
  EXPECT_EQ(m[key("chatglmd_deliveries_total", {{"cause", "timeout-close"}})], 1.0);
  EXPECT_EQ(d.terminate(), 0);
}

}  // namespace
}  // namespace chatglmd::testing
