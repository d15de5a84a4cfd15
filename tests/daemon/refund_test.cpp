// Refunds through the real binary and the simulator: money goes back once, the quota that is
// left goes with it, and crashes, timeouts and a racing chat change neither. The sim's own view
// of each trade (refunded_amount, refund_count) is what proves that money moved once.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <thread>

#include "daemon/daemon_client.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// A product of 10 chats for 9.99.
void add_product(const DaemonHarness& d) {
  run_ok(d, {"product", "add", "--id", "7", "--name", "10 chats", "--price", "9.99", "--quota",
             "10", "--models", "glm-4"});
}

// An order whose pay form the buyer opened: the trade waits at the gateway.
std::string opened_order(const DaemonHarness& d, const std::string& openid) {
  auto created = json::parse(
      d.post_form("/api/v1/sale/create_pay_order", "productId=7", d.token_for(openid)).body);
  EXPECT_EQ(created.at("code").as_string(), "0000") << created;
  EXPECT_EQ(submit_pay_form(std::string(created.at("data").as_string())).status, 200);
  auto orders = json::parse(d.cli({"order", "list", "--user", openid, "--json"}).out).as_array();
  return std::string(orders.at(0).at("orderId").as_string());
}

json::value order_json(const DaemonHarness& d, const std::string& id) {
  return json::parse(d.cli({"order", "show", id, "--json"}).out);
}

std::string status(const DaemonHarness& d, const std::string& id) {
  return std::string(order_json(d, id).at("status").as_string());
}

// An order the buyer paid on the simulated cashier; the notify delivers it.
std::string delivered_order(DaemonHarness& d, const std::string& openid) {
  const std::string id = opened_order(d, openid);
  sim_call(d.sim(), "POST", "/sim/alipay/pay", R"({"out_trade_no":")" + id + R"("})");
  EXPECT_TRUE(eventually([&] { return status(d, id) == "DELIVERED"; })) << d.log();
  return id;
}

json::value trade(DaemonHarness& d, const std::string& id) {
  return sim_call(d.sim(), "GET", "/sim/alipay/trade?out_trade_no=" + id).at("trade");
}
std::int64_t refund_count(DaemonHarness& d, const std::string& id) {
  return trade(d, id).at("refund_count").as_int64();
}
std::string refunded_amount(DaemonHarness& d, const std::string& id) {
  return std::string(trade(d, id).at("refunded_amount").as_string());
}

json::object refund_of(const DaemonHarness& d, const std::string& id) {
  const auto shown = order_json(d, id);
  const auto& refunds = shown.at("refunds").as_array();
  EXPECT_EQ(refunds.size(), 1u);
  return refunds.empty() ? json::object{} : refunds.at(0).as_object();
}

// The backoff keeps an unclear refund off the job's runs for a while; tests make it due now.
void make_due(const DaemonHarness& d, const std::string& id) {
  sql_exec(d.db(), "UPDATE refund SET next_attempt_at = 0 WHERE order_id = '" + id + "'");
}

std::int64_t total_quota(const DaemonHarness& d, const std::string& openid) {
  return user_json(d, openid).at("totalQuota").to_number<std::int64_t>();
}

bool chat_ok(const DaemonHarness& d, const std::string& token) {
  auto r = chat(d, kOriginalChat, "Bearer " + token, chat_json("glm-4", "ping"));
  return r.status == 200 && r.body.find("Echo: ping") != std::string::npos;
}

// The refund-query job run by hand, as cron would (its `after` waits for nothing here).
CommandResult run_refund_query(const DaemonHarness& d) {
  return d.cli({"jobs", "run", "refund-query", "--verbose"},
               {{"CHATGLMD_JOBS_REFUND_QUERY_AFTER", "0s"}});
}

struct Refunds : ::testing::Test {
  static void SetUpTestSuite() {
    // The daemon's own refund-query job stays off: each test runs it when it wants to.
    daemon = new DaemonHarness(
        DaemonOptions{{{"alipay.timeout", "400ms"}, {"jobs.refund-query.enabled", "false"}}});
    add_product(*daemon);
  }
  static void TearDownTestSuite() {
    delete daemon;
    daemon = nullptr;
  }
  void TearDown() override { sim_call(d.sim(), "POST", "/sim/alipay/faults/clear", "{}"); }
  static DaemonHarness* daemon;
  DaemonHarness& d = *daemon;
};
DaemonHarness* Refunds::daemon = nullptr;

TEST_F(Refunds, ADeliveredOrderWithItsQuotaPartlySpentIsRefundedOnce) {
  const std::string id = delivered_order(d, "spender");
  const std::string token = d.token_for("spender");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(chat_ok(d, token));
  ASSERT_EQ(surplus_quota(d, "spender"), 7);
  auto r = d.cli({"order", "refund", id, "--reason", "complaint", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto out = json::parse(r.out);
  EXPECT_EQ(out.at("status").as_string(), "REFUNDED");
  EXPECT_EQ(out.at("refundStatus").as_string(), "succeeded");
  EXPECT_EQ(out.at("quotaRevoked").as_int64(), 7) << "what was spent cannot be taken back";
  EXPECT_EQ(surplus_quota(d, "spender"), 0);
  EXPECT_EQ(total_quota(d, "spender"), 3);
  EXPECT_FALSE(chat_ok(d, token)) << "the refunded chats are gone";
  EXPECT_EQ(refunded_amount(d, id), "9.99");
  EXPECT_EQ(refund_count(d, id), 1);
  auto shown = order_json(d, id);
  EXPECT_EQ(shown.at("orderStatus").as_int64(), 4);
  EXPECT_EQ(shown.at("payStatus").as_int64(), 4);
  auto refund = refund_of(d, id);
  EXPECT_EQ(refund.at("refundReason").as_string(), "complaint");
  EXPECT_EQ(refund.at("refundAmountFen").as_int64(), 999);
  const auto& events = shown.at("events").as_array();
  EXPECT_EQ(events.back().at("to").as_string(), "REFUNDED");
  EXPECT_EQ(events.back().at("cause").as_string(), "admin");
  auto listed = json::parse(d.cli({"order", "list", "--status", "refunded", "--json"}).out);
  bool found = false;
  for (const auto& o : listed.as_array()) found = found || o.at("orderId").as_string() == id;
  EXPECT_TRUE(found);
  // Once refunded, always refunded: a second request is refused and moves no money.
  auto again = d.cli({"order", "refund", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("refunded already"), std::string::npos) << again.err;
  EXPECT_EQ(refund_count(d, id), 1);
}

TEST_F(Refunds, ARetryAfterATimeoutRefundsOnce) {
  const std::string id = delivered_order(d, "impatient");
  // Alipay makes the refund but answers after our 400 ms timeout.
  sim_call(d.sim(), "POST", "/sim/alipay/fault",
           R"({"kind":"latency","delay_ms":1500,"method":"alipay.trade.refund","count":1})");
  auto first = d.cli({"order", "refund", id});
  EXPECT_EQ(first.exit_code, 75) << first.out << first.err;
  EXPECT_EQ(status(d, id), "DELIVERED") << "unclear changes nothing but the revocation";
  EXPECT_EQ(refund_of(d, id).at("refundStatus").as_string(), "requested");
  EXPECT_EQ(surplus_quota(d, "impatient"), 0) << "the quota is held back while undecided";
  EXPECT_TRUE(eventually([&] { return refund_count(d, id) == 1; }));
  // The retry asks first, and the query confirms the refund without another call (which would
  // fail here: a refusal or error must not decide a refund that was made).
  sim_call(d.sim(), "POST", "/sim/alipay/fault",
           R"({"kind":"http_error","status":502,"method":"alipay.trade.refund"})");
  auto retry = d.cli({"order", "refund", id, "--json"});
  EXPECT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  EXPECT_NE(retry.out.find("REFUND_SUCCESS"), std::string::npos) << retry.out;
  EXPECT_EQ(status(d, id), "REFUNDED");
  EXPECT_EQ(refund_count(d, id), 1);
  EXPECT_EQ(refunded_amount(d, id), "9.99");
}

// kill -9 of `order refund` while Alipay is working on the call: the refund row and the
// revocation are committed before the call, so the job finds a requested refund and finishes it.
TEST_F(Refunds, AKillBetweenTheGatewayCallAndTheCommitIsFinishedByTheJob) {
  struct Case {
    std::string fault;
    std::string name;
  };
  // latency: the refund is made, the answer never arrives; hang: the request is never handled.
  for (const Case& c :
       {Case{R"({"kind":"latency","delay_ms":5000,"method":"alipay.trade.refund"})",
             "answered too late"},
        Case{R"({"kind":"hang","method":"alipay.trade.refund","count":1})", "never handled"}}) {
    SCOPED_TRACE(c.name);
    const std::string openid = "killed-" + std::to_string(c.name.size());
    const std::string id = delivered_order(d, openid);
    sim_call(d.sim(), "POST", "/sim/alipay/fault", c.fault);
    BackgroundProcess cli({CHATGLMD_BIN, "-c", d.ini(), "order", "refund", id},
                          d.dir() + "/killed-refund.log", {{"CHATGLMD_ALIPAY_TIMEOUT", "30s"}});
    // In flight once the refund row is committed (it is written before the call).
    ASSERT_TRUE(eventually([&] {
      return sql_int(d.db(), "SELECT count(*) FROM refund WHERE order_id = '" + id + "'") == 1;
    }));
    if (c.name == "answered too late") {
      ASSERT_TRUE(eventually([&] { return refund_count(d, id) == 1; }));
    }
    cli.signal(SIGKILL);
    EXPECT_EQ(cli.wait(5s), 128 + SIGKILL);
    sim_call(d.sim(), "POST", "/sim/alipay/faults/clear", "{}");
    EXPECT_EQ(status(d, id), "DELIVERED");
    EXPECT_EQ(surplus_quota(d, openid), 0);
    auto job = run_refund_query(d);
    EXPECT_EQ(job.exit_code, 0) << job.out << job.err;
    EXPECT_EQ(status(d, id), "REFUNDED");
    EXPECT_EQ(refund_of(d, id).at("refundStatus").as_string(), "succeeded");
    EXPECT_EQ(refund_count(d, id), 1) << "money moved once";
    EXPECT_EQ(refunded_amount(d, id), "9.99");
    auto again = run_refund_query(d);
    EXPECT_EQ(again.exit_code, 0);
    EXPECT_EQ(refund_count(d, id), 1);
  }
}

// The store fails after Alipay was called (here: a trigger refuses every change of the refund
// row while the call is in flight). The money may have moved, so the refund is not "failed":
// exit 75, unclear and queued, and the job finishes it once the store works again.
TEST_F(Refunds, AStoreErrorAfterTheGatewayCallLeavesTheRefundUnclearAndQueued) {
  const std::string id = delivered_order(d, "store-error");
  sim_call(d.sim(), "POST", "/sim/alipay/fault",
           R"({"kind":"latency","delay_ms":1500,"method":"alipay.trade.refund","count":1})");
  BackgroundProcess cli({CHATGLMD_BIN, "-c", d.ini(), "order", "refund", id},
                        d.dir() + "/store-error-refund.log", {{"CHATGLMD_ALIPAY_TIMEOUT", "30s"}});
  ASSERT_TRUE(eventually([&] {
    return sql_int(d.db(), "SELECT count(*) FROM refund WHERE order_id = '" + id + "'") == 1;
  }));
  sql_exec(d.db(),
           "CREATE TRIGGER refund_frozen BEFORE UPDATE ON refund BEGIN "
           "SELECT RAISE(ABORT, 'simulated store failure'); END");
  const int exit_code = cli.wait(20s);
  sql_exec(d.db(), "DROP TRIGGER refund_frozen");
  const std::string log = read_file(d.dir() + "/store-error-refund.log");
  EXPECT_EQ(exit_code, 75) << log;
  EXPECT_NE(log.find("refund-query job finishes it"), std::string::npos) << log;
  EXPECT_EQ(refund_count(d, id), 1) << "Alipay made it";
  EXPECT_EQ(status(d, id), "DELIVERED");
  EXPECT_EQ(refund_of(d, id).at("refundStatus").as_string(), "requested");
  EXPECT_EQ(surplus_quota(d, "store-error"), 0);
  auto job = run_refund_query(d);
  EXPECT_EQ(job.exit_code, 0) << job.out << job.err;
  EXPECT_EQ(status(d, id), "REFUNDED");
  EXPECT_EQ(refund_count(d, id), 1);
}

TEST_F(Refunds, UnclearAnswersWaitForTheJobWhichDecidesThem) {
  const std::string id = delivered_order(d, "faulty");
  sim_call(d.sim(), "POST", "/sim/alipay/fault", R"({"kind":"http_error","status":502})");
  auto r = d.cli({"order", "refund", id});
  EXPECT_EQ(r.exit_code, 75) << r.out << r.err;
  EXPECT_TRUE(run_refund_query(d).out.find("selected: 0") != std::string::npos)
      << "backing off after the unclear answer";
  for (const char* fault : {R"({"kind":"http_error","status":502})", R"({"kind":"bad_sign"})",
                            R"({"kind":"system_error"})", R"({"kind":"truncate"})"}) {
    SCOPED_TRACE(fault);
    sim_call(d.sim(), "POST", "/sim/alipay/faults/clear", "{}");
    sim_call(d.sim(), "POST", "/sim/alipay/fault", fault);
    make_due(d, id);
    auto job = run_refund_query(d);
    EXPECT_EQ(job.exit_code, 1) << "left unclear: " << job.out;
    EXPECT_EQ(status(d, id), "DELIVERED");
    EXPECT_EQ(refund_of(d, id).at("refundStatus").as_string(), "requested");
  }
  sim_call(d.sim(), "POST", "/sim/alipay/faults/clear", "{}");
  EXPECT_GE(refund_of(d, id).at("refundAttempts").as_int64(), 5);
  make_due(d, id);
  auto job = run_refund_query(d);
  EXPECT_EQ(job.exit_code, 0) << job.out << job.err;
  EXPECT_EQ(status(d, id), "REFUNDED");
  EXPECT_EQ(refund_count(d, id), 1);
}

TEST_F(Refunds, ARefundRacingAChatForTheLastQuotaNeverTakesItTwice) {
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(round);
    const std::string openid = "racer-" + std::to_string(round);
    const std::string id = delivered_order(d, openid);
    const std::string token = d.token_for(openid);
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(chat_ok(d, token));
    ASSERT_EQ(surplus_quota(d, openid), 1);
    bool chatted = false;
    std::thread chatter([&] { chatted = chat_ok(d, token); });
    auto r = d.cli({"order", "refund", id, "--json"});
    chatter.join();
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto revoked = json::parse(r.out).at("quotaRevoked").as_int64();
    // The last chat was either spent (nothing to revoke) or revoked (the chat refused).
    EXPECT_EQ(revoked + (chatted ? 1 : 0), 1);
    EXPECT_EQ(surplus_quota(d, openid), 0);
    EXPECT_EQ(refund_count(d, id), 1);
  }
}

TEST_F(Refunds, OrdersWithoutMoneyToGiveBackAreRefused) {
  const std::string created = opened_order(d, "never-paid");
  const std::string closed = opened_order(d, "gave-up");
  ASSERT_EQ(d.cli({"order", "close", closed}).exit_code, 0);
  const auto events = sql_int(d.db(), "SELECT count(*) FROM order_event");
  for (const auto& [id, state] : {std::pair{created, "CREATED"}, std::pair{closed, "CLOSED"}}) {
    auto r = d.cli({"order", "refund", id});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.err.find(state), std::string::npos) << r.err;
    EXPECT_EQ(status(d, id), state);
    EXPECT_EQ(refund_count(d, id), 0);
    EXPECT_TRUE(order_json(d, id).at("refunds").as_array().empty());
  }
  EXPECT_EQ(d.cli({"order", "refund", "999999999999"}).exit_code, 1);
  EXPECT_EQ(d.cli({"order", "refund"}).exit_code, 2);
  EXPECT_EQ(d.cli({"order", "refund", created, "--limit", "3"}).exit_code, 2);
  EXPECT_EQ(sql_int(d.db(), "SELECT count(*) FROM order_event"), events)
      << "refusals leave no trace";
  EXPECT_EQ(sql_int(d.db(), "SELECT count(*) FROM refund WHERE order_id IN ('" + created + "','" +
                                closed + "')"),
            0);
}

TEST_F(Refunds, ARefundAlipayRefusesForGoodGivesTheQuotaBack) {
  const std::string id = delivered_order(d, "too-late");
  ASSERT_TRUE(chat_ok(d, d.token_for("too-late")));
  // Past the refund period the trade is finished and cannot be refunded.
  sim_call(d.sim(), "POST", "/sim/alipay/trade",
           R"({"out_trade_no":")" + id + R"(","status":"TRADE_FINISHED"})");
  auto r = d.cli({"order", "refund", id});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("ACQ.TRADE_HAS_FINISHED"), std::string::npos) << r.out;
  EXPECT_EQ(status(d, id), "DELIVERED");
  EXPECT_EQ(surplus_quota(d, "too-late"), 9) << "the revoked quota is back";
  EXPECT_EQ(total_quota(d, "too-late"), 10);
  EXPECT_EQ(refund_of(d, id).at("refundStatus").as_string(), "failed");
  EXPECT_EQ(refund_count(d, id), 0);
  auto again = d.cli({"order", "refund", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("failed for good"), std::string::npos) << again.err;
}

TEST_F(Refunds, ADryRunChangesNothing) {
  const std::string id = delivered_order(d, "cautious");
  auto r = d.cli({"order", "refund", id, "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("would refund 9.99 and take back 10 quota"), std::string::npos) << r.out;
  EXPECT_EQ(status(d, id), "DELIVERED");
  EXPECT_EQ(surplus_quota(d, "cautious"), 10);
  EXPECT_TRUE(order_json(d, id).at("refunds").as_array().empty());
  EXPECT_EQ(refund_count(d, id), 0);
}

// A payment that arrives after the order was closed, under each [alipay] late_payment policy.
std::string late_paid_order(DaemonHarness& d, const std::string& openid) {
  const std::string id = opened_order(d, openid);
  EXPECT_EQ(d.cli({"order", "close", id}).exit_code, 0);
  // The buyer's cashier tab paid anyway; Alipay notifies.
  sim_call(d.sim(), "POST", "/sim/alipay/trade",
           R"({"out_trade_no":")" + id + R"(","status":"TRADE_SUCCESS","notify":true})");
  return id;
}

TEST(LatePayment, DeliverPolicyDeliversAndCountsIt) {
  DaemonHarness d;
  add_product(d);
  const std::string id = late_paid_order(d, "late-deliver");
  EXPECT_TRUE(eventually([&] { return status(d, id) == "DELIVERED"; })) << d.log();
  EXPECT_EQ(surplus_quota(d, "late-deliver"), 10);
  EXPECT_EQ(metric_value(d, R"(chatglmd_late_payment_total{action="deliver"})"), 1);
  EXPECT_EQ(metric_value(d, R"(chatglmd_late_payment_total{action="refund"})"), 0);
  EXPECT_TRUE(order_json(d, id).at("refunds").as_array().empty());
  EXPECT_EQ(refund_count(d, id), 0);
}

TEST(LatePayment, RefundPolicyRefundsInsteadOfDelivering) {
  DaemonHarness d{DaemonOptions{{{"alipay.late_payment", "refund"},
                                 {"jobs.refund-query.interval", "1s"},
                                 {"jobs.refund-query.after", "0s"}}}};
  add_product(d);
  const std::string id = late_paid_order(d, "late-refund");
  EXPECT_TRUE(eventually([&] { return status(d, id) == "REFUNDED"; })) << d.log();
  EXPECT_LE(surplus_quota(d, "late-refund"), 0) << "nothing was ever delivered";
  auto never_delivered = [&] {
    const auto shown = order_json(d, id);
    for (const auto& e : shown.at("events").as_array())
      if (e.at("to").as_string() == "DELIVERED") return false;
    return true;
  };
  EXPECT_TRUE(never_delivered()) << order_json(d, id);
  EXPECT_EQ(refund_count(d, id), 1);
  EXPECT_EQ(refunded_amount(d, id), "9.99");
  auto refund = refund_of(d, id);
  EXPECT_EQ(refund.at("refundCause").as_string(), "late-payment");
  EXPECT_EQ(refund.at("quotaRevoked").as_int64(), 0);
  EXPECT_EQ(metric_value(d, R"(chatglmd_late_payment_total{action="refund"})"), 1);
  EXPECT_EQ(metric_value(d, R"(chatglmd_late_payment_total{action="deliver"})"), 0);
  EXPECT_EQ(metric_value(d, R"(chatglmd_refunds_total{outcome="succeeded"})"), 1);
  EXPECT_EQ(metric_value(d, "chatglmd_refunded_fen_total"), 999);
  // Alipay re-sends the notify: still nothing delivered, nothing refunded twice.
  sim_call(d.sim(), "POST", "/sim/alipay/notify", R"({"out_trade_no":")" + id + R"("})");
  EXPECT_TRUE(eventually([&] {
    return sql_int(d.db(),
                   "SELECT sum(times_seen) FROM pay_notify WHERE out_trade_no = '" + id + "'") >= 2;
  }));
  EXPECT_EQ(status(d, id), "REFUNDED");
  EXPECT_LE(surplus_quota(d, "late-refund"), 0);
  EXPECT_TRUE(never_delivered()) << order_json(d, id);
  EXPECT_EQ(refund_count(d, id), 1);
}

}  // namespace
}  // namespace chatglmd::testing
