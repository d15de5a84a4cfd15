// A settlement is counted and logged only once its transaction has committed. The real daemon
// takes a late payment's notify; its group commit fails on a real SQLite condition (a deferred
// foreign key broken by a trigger, which COMMIT checks). That notify is answered `fail` and
// counted nowhere; Alipay's resend, once the database is healthy again, is counted once.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "job_world.hpp"
#include "store/sqlite_db.hpp"
#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

using core::OrderState;
using namespace std::chrono_literals;

// The value of one series in /metrics (`name{labels} value`), -1 when it is missing.
double metric(const DaemonHarness& d, const std::string& series) {
  auto r = d.request("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  const std::string prefix = "\n" + series + " ";
  const auto at = ("\n" + r.body).find(prefix);
  if (at == std::string::npos) return -1;
  return std::stod(r.body.substr(at + prefix.size() - 1));
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// The replies the sim got to its notifies for one order, once `want` of them are in.
std::vector<std::string> notify_replies(int sim_port, const std::string& order_id,
                                        std::size_t want) {
  std::vector<std::string> replies;
  eventually([&] {
    replies.clear();
    const auto log = boost::json::parse(http_request(sim_port, "GET", "/sim/alipay/notifies").body);
    for (const auto& n : log.at("notifies").as_array())
      if (n.at("out_trade_no").as_string() == order_id)
        replies.emplace_back(n.at("reply").as_string());
    return replies.size() >= want;
  });
  return replies;
}

TEST(SettlementCommit, ANotifyWhoseCommitFailsIsNotCountedAndItsResendIsCountedOnce) {
  DaemonHarness d{DaemonOptions{{{"jobs.timeout-close.enabled", "false"},
                                 {"jobs.replenish-shipment.enabled", "false"},
                                 {"jobs.reconcile.enabled", "false"},
                                 {"jobs.close-followup.enabled", "false"}},
                                {}}};
  const int sim = d.sim().port();
  sim_control(sim, "/sim/alipay/config", R"({"notify_schedule_ms":[]})");  // resends by hand

  // An order we closed, which the buyer paid after all: a late payment.
  auto db = open_store(d.db());
  const std::string id = "700000000001";
  const core::UtcMs placed = core::SystemClock().now();
  insert_order(*db, id, placed, "commit-buyer");
  ASSERT_EQ(db->orders()
                .apply(id, core::OrderEvent::CloseConfirmed, core::Cause::Admin, "test", placed)
                .outcome,
            store::TransitionOutcome::Applied);

  // Every transaction that delivers now fails at COMMIT: the deferred foreign key is checked
  // there, after the notify's work (state change, quota, counters if they ran inside) is done.
  store::Db raw({d.db(), "NORMAL"});
  raw.exec_script(
      "CREATE TABLE test_commit_breaker (order_ref INTEGER REFERENCES openai_order (id) "
      "DEFERRABLE INITIALLY DEFERRED);"
      "CREATE TRIGGER test_break_commit AFTER UPDATE OF order_status ON openai_order "
      "WHEN NEW.order_status = 2 BEGIN INSERT INTO test_commit_breaker VALUES (-1); END;");

  const std::string notify_url =
      fmt::format("http://127.0.0.1:{}/api/v1/sale/pay_notify", d.port());
  put_trade(sim, id, "TRADE_SUCCESS", core::Fen{kPriceFen}, notify_url);
  sim_control(sim, "/sim/alipay/notify", R"({"out_trade_no":")" + id + R"("})");
  ASSERT_EQ(notify_replies(sim, id, 1), std::vector<std::string>{"fail"}) << d.log();

  EXPECT_EQ(db->orders().get(id)->state, OrderState::Closed) << "the commit kept nothing";
  EXPECT_EQ(metric(d, R"(chatglmd_deliveries_total{cause="notify"})"), 0);
  EXPECT_EQ(metric(d, "chatglmd_late_payment_total{action=\"deliver\"}"), 0);
  EXPECT_EQ(metric(d, "chatglmd_notify_handled_total"), 0);
  EXPECT_EQ(count_of(d.log(), "order " + id + " delivered"), 0) << d.log();
  EXPECT_EQ(count_of(d.log(), "order " + id + " was closed but has been paid"), 0) << d.log();

  // The database heals; Alipay sends the same notify again.
  raw.exec_script("DROP TRIGGER test_break_commit; DROP TABLE test_commit_breaker;");
  sim_control(sim, "/sim/alipay/notify", R"({"out_trade_no":")" + id + R"("})");
  ASSERT_EQ(notify_replies(sim, id, 2), (std::vector<std::string>{"fail", "success"})) << d.log();

  EXPECT_EQ(db->orders().get(id)->state, OrderState::Delivered);
  EXPECT_EQ(db->accounts().get("commit-buyer")->total_quota, kQuota);
  EXPECT_EQ(metric(d, R"(chatglmd_deliveries_total{cause="notify"})"), 1);
  EXPECT_EQ(metric(d, "chatglmd_late_payment_total{action=\"deliver\"}"), 1);
  EXPECT_EQ(metric(d, "chatglmd_notify_handled_total"), 1);
  EXPECT_EQ(count_of(d.log(), "order " + id + " delivered"), 1) << d.log();
  EXPECT_EQ(count_of(d.log(), "order " + id + " was closed but has been paid"), 1) << d.log();
}

}  // namespace
}  // namespace chatglmd::testing
