// An unclear gateway answer changes nothing at the daemon: admin close and reconcile of a real
// order (paid for through the daemon's own pay form) against the simulator's injected faults
// leave the order, its audit log and the buyer's quota as they were, and exit 1 so that the
// operator tries again; once the gateway answers clearly, the same command does its work.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "daemon/daemon_client.hpp"

namespace chatglmd::testing {
namespace {

struct GatewayFaults : ::testing::Test {
  static void SetUpTestSuite() {
    daemon = new DaemonHarness(DaemonOptions{{{"alipay.timeout", "400ms"}}});
    run_ok(*daemon, {"product", "add", "--id", "7", "--name", "10 chats", "--price", "1.00",
                     "--quota", "10"});
  }
  static void TearDownTestSuite() {
    delete daemon;
    daemon = nullptr;
  }
  void TearDown() override { sim_call(d.sim(), "POST", "/sim/alipay/faults/clear", "{}"); }

  // An order whose pay form the buyer opened: the trade waits at the gateway.
  std::string opened_order(const std::string& openid) {
    auto created = boost::json::parse(
        d.post_form("/api/v1/sale/create_pay_order", "productId=7", d.token_for(openid)).body);
    EXPECT_EQ(created.at("code").as_string(), "0000") << created;
    EXPECT_EQ(submit_pay_form(std::string(created.at("data").as_string())).status, 200);
    auto orders =
        boost::json::parse(d.cli({"order", "list", "--user", openid, "--json"}).out).as_array();
    return std::string(orders.at(0).at("orderId").as_string());
  }
  std::string status(const std::string& id) {
    return std::string(
        boost::json::parse(d.cli({"order", "show", id, "--json"}).out).at("status").as_string());
  }
  std::int64_t events() { return sql_int(d.db(), "SELECT count(*) FROM order_event"); }

  static DaemonHarness* daemon;
  DaemonHarness& d = *daemon;
};
DaemonHarness* GatewayFaults::daemon = nullptr;

const std::vector<std::string> kFaults = {R"({"kind":"latency","delay_ms":1000})",
                                          R"({"kind":"http_error","status":500})",
                                          R"({"kind":"http_error"})",
                                          R"({"kind":"system_error"})",
                                          R"({"kind":"bad_sign"})",
                                          R"({"kind":"no_sign"})",
                                          R"({"kind":"truncate"})",
                                          R"({"kind":"drop"})",
                                          R"({"kind":"hang"})"};

TEST_F(GatewayFaults, AdminCloseDuringAFaultChangesNothing) {
  const std::string id = opened_order("close-buyer");
  for (const auto& fault : kFaults) {
    SCOPED_TRACE(fault);
    const auto before = events();
    sim_call(d.sim(), "POST", "/sim/alipay/fault", fault);
    auto r = d.cli({"order", "close", id});
    sim_call(d.sim(), "POST", "/sim/alipay/faults/clear", "{}");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(status(id), "CREATED");
    EXPECT_EQ(events(), before);
    // A fault that damaged only the answer may have closed the trade at the gateway; open a
    // fresh trade for the next fault so each one meets a waiting trade.
    sim_call(d.sim(), "POST", "/sim/alipay/trade",
             R"({"out_trade_no":")" + id + R"(","total_amount":"1.00","status":"WAIT_BUYER_PAY"})");
  }
  EXPECT_EQ(d.cli({"order", "close", id}).exit_code, 0);
  EXPECT_EQ(status(id), "CLOSED");
}

TEST_F(GatewayFaults, AdminReconcileOfAPaidTradeDuringAFaultChangesNothing) {
  const std::string id = opened_order("reconcile-buyer");
  // Paid at the gateway, but the notify never came.
  sim_call(d.sim(), "POST", "/sim/alipay/trade",
           R"({"out_trade_no":")" + id + R"(","status":"TRADE_SUCCESS","notify":false})");
  for (const auto& fault : kFaults) {
    SCOPED_TRACE(fault);
    const auto before = events();
    sim_call(d.sim(), "POST", "/sim/alipay/fault", fault);
    auto r = d.cli({"order", "reconcile", id});
    sim_call(d.sim(), "POST", "/sim/alipay/faults/clear", "{}");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(status(id), "CREATED");
    EXPECT_EQ(events(), before);
    EXPECT_TRUE(user_json(d, "reconcile-buyer").is_null())
        << "quota delivered on an unclear answer";
  }
  EXPECT_EQ(d.cli({"order", "reconcile", id}).exit_code, 0);
  EXPECT_EQ(status(id), "DELIVERED");
  EXPECT_EQ(surplus_quota(d, "reconcile-buyer"), 10);
}

// The buyer pays after the order was closed here (no trade existed at the gateway when it was
// closed, so only the local close happened) and the notify for that payment is lost. The money is
// real: `order reconcile` is how the operator finds it, so it must work on a CLOSED order too.
TEST_F(GatewayFaults, AdminReconcileFindsAPaymentMadeAfterTheClose) {
  auto created = boost::json::parse(
      d.post_form("/api/v1/sale/create_pay_order", "productId=7", d.token_for("late-buyer")).body);
  ASSERT_EQ(created.at("code").as_string(), "0000") << created;
  auto orders =
      boost::json::parse(d.cli({"order", "list", "--user", "late-buyer", "--json"}).out).as_array();
  ASSERT_EQ(orders.size(), 1u);
  const std::string id(orders.at(0).at("orderId").as_string());
  ASSERT_EQ(d.cli({"order", "close", id}).exit_code, 0);
  ASSERT_EQ(status(id), "CLOSED");
  // Nothing paid yet: asking changes nothing.
  const auto before = events();
  auto unpaid = d.cli({"order", "reconcile", id});
  EXPECT_EQ(unpaid.exit_code, 0) << unpaid.out << unpaid.err;
  EXPECT_EQ(status(id), "CLOSED");
  EXPECT_EQ(events(), before);

  sim_call(d.sim(), "POST", "/sim/alipay/trade",
           R"({"out_trade_no":")" + id +
               R"(","total_amount":"1.00","status":"TRADE_SUCCESS","notify":false})");
  auto paid = d.cli({"order", "reconcile", id});
  EXPECT_EQ(paid.exit_code, 0) << paid.out << paid.err;
  EXPECT_EQ(status(id), "DELIVERED");
  EXPECT_EQ(surplus_quota(d, "late-buyer"), 10);
  // Delivered is final: a second reconcile is refused and grants nothing.
  EXPECT_EQ(d.cli({"order", "reconcile", id}).exit_code, 1);
  EXPECT_EQ(surplus_quota(d, "late-buyer"), 10);
}

// In precreate mode the pay order needs the gateway: a fault there leaves the order CREATED
// without pay info, and the buyer's next click reuses that order instead of making another.
TEST(PrecreateFaults, AFailedQrLeavesOneOrderThatTheNextClickReuses) {
  DaemonHarness d(DaemonOptions{{{"alipay.timeout", "400ms"}, {"alipay.mode", "precreate"}}});
  run_ok(d,
         {"product", "add", "--id", "8", "--name", "50 chats", "--price", "5.00", "--quota", "50"});
  std::string token = d.token_for("qr-buyer");
  auto orders = [&] {
    return boost::json::parse(d.cli({"order", "list", "--user", "qr-buyer", "--json"}).out)
        .as_array();
  };
  for (const std::string fault : {R"({"kind":"http_error","method":"alipay.trade.precreate"})",
                                  R"({"kind":"system_error","method":"alipay.trade.precreate"})",
                                  R"({"kind":"bad_sign","method":"alipay.trade.precreate"})",
                                  R"({"kind":"hang","method":"alipay.trade.precreate"})"}) {
    SCOPED_TRACE(fault);
    sim_call(d.sim(), "POST", "/sim/alipay/fault", fault);
    auto failed = d.post_form("/api/v1/sale/create_pay_order", "productId=8", token);
    sim_call(d.sim(), "POST", "/sim/alipay/faults/clear", "{}");
    EXPECT_EQ(envelope_code(failed), "0001") << failed.body;
    EXPECT_EQ(failed.body.find("qr.alipay.com"), std::string::npos);
    auto list = orders();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].at("status").as_string(), "CREATED");
  }
  auto ok =
      boost::json::parse(d.post_form("/api/v1/sale/create_pay_order", "productId=8", token).body);
  ASSERT_EQ(ok.at("code").as_string(), "0000") << ok;
  std::string qr(ok.at("data").as_string());
  EXPECT_NE(qr.find("out_trade_no=" + std::string(orders()[0].at("orderId").as_string())),
            std::string::npos)
      << qr;
  // Clicking again hands out the same QR without asking the gateway.
  sim_call(d.sim(), "POST", "/sim/alipay/fault", R"({"kind":"drop"})");
  auto again =
      boost::json::parse(d.post_form("/api/v1/sale/create_pay_order", "productId=8", token).body);
  EXPECT_EQ(again.at("data").as_string(), qr);
  EXPECT_EQ(orders().size(), 1u);
}

TEST(PayOrderInput, BadProductIdsAreRefusedWithoutAnOrder) {
  DaemonHarness d;
  run_ok(d, {"product", "add", "--id", "9", "--name", "x", "--price", "1.00", "--quota", "1"});
  run_ok(d, {"product", "add", "--id", "10", "--name", "y", "--price", "1.00", "--quota", "1"});
  run_ok(d, {"product", "disable", "10"});
  std::string token = d.token_for("picky");
  for (const std::string form :
       {"", "productId=", "productId=abc", "productId=-9", "productId=0", "productId=9.5",
        "productId=99999999999999999999999", "productId=9%00", "productId=12345"}) {
    SCOPED_TRACE(form);
    EXPECT_EQ(envelope_code(d.post_form("/api/v1/sale/create_pay_order", form, token)), "0002");
  }
  EXPECT_EQ(envelope_code(d.post_form("/api/v1/sale/create_pay_order", "productId=10", token)),
            "OE001");
  EXPECT_EQ(envelope_code(d.request("POST", "/api/v1/sale/create_pay_order", "productId=9")),
            "0003");
  EXPECT_EQ(boost::json::parse(d.cli({"order", "list", "--json"}).out).as_array().size(), 0u);
  EXPECT_EQ(envelope_code(d.post_form("/api/v1/sale/create_pay_order", "productId=9", token)),
            "0000");
}

}  // namespace
}  // namespace chatglmd::testing
