// AlipayGateway end to end over real sockets: our builder, net::HttpClient, the simulator's
// Alipay half behind a loopback server, our verifier. Faults must all come back Unclear.
#include "pay/alipay_gateway.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <mutex>
#include <thread>

#include "alipay_gateway_sim.hpp"
#include "loopback_sim_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "test_keys.hpp"

namespace chatglmd::pay {
namespace {

using QK = TradeQueryResult::Kind;
using CK = TradeCloseResult::Kind;

struct GatewayOverSockets : ::testing::Test {
  sim::AlipayGatewaySim sim{{testing::fixture("ali_pkcs1.pem"), testing::fixture("app_pub.pem")}};
  test::LoopbackSimServer server{[this](const sim::SimRequest& r) { return sim.handle(r); }};
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  net::HttpClient client{io};
  std::thread io_thread{[this] { io.run(); }};
  core::SystemClock clock;
  std::unique_ptr<AlipayGateway> gateway;

  GatewayOverSockets() { gateway = make(PayMode::Precreate); }
  ~GatewayOverSockets() override {
    gateway.reset();
    work.reset();
    io.stop();
    io_thread.join();
  }
  std::unique_ptr<AlipayGateway> make(PayMode mode) {
    AlipayConfig c;
    c.gateway = "http://127.0.0.1:" + std::to_string(server.port()) + "/gateway.do";
    c.app_id = "2021000000000001";
    c.private_key = test::key_text("app_pkcs8.pem");
    c.alipay_public_key = test::key_text("ali_pub.pem");
    c.notify_url = "http://127.0.0.1:9/notify";
    c.mode = mode;
    c.timeout = std::chrono::milliseconds(400);  // the hang fault costs this much real time
    auto made = AlipayGateway::create(c, client, clock);
    EXPECT_TRUE(std::holds_alternative<std::unique_ptr<AlipayGateway>>(made));
    return std::move(std::get<std::unique_ptr<AlipayGateway>>(made));
  }
  sim::SimResponse control(std::string target, std::string body) {
    return sim.handle(
        {"POST", std::move(target), std::move(body), {{"Content-Type", "application/json"}}});
  }
  static core::Order order(std::string id, std::int64_t fen) {
    core::Order o;
    o.order_id = std::move(id);
    o.amount = core::Fen{fen};
    o.order_time = core::SystemClock().now();  // so its time_expire lies ahead of the sim's clock
    o.product_name = "测试 100 chats";
    return o;
  }
};

TEST_F(GatewayOverSockets, PrecreateScanQueryAndCloseInEveryState) {
  const auto form = gateway->create_pay_form(order("400000000001", 999));
  ASSERT_TRUE(form.ok) << form.detail;
  EXPECT_NE(form.data.find("/sim/alipay/scan?out_trade_no=400000000001"), std::string::npos);
  EXPECT_EQ(gateway->query("400000000001").kind, QK::NotExist);
  EXPECT_EQ(gateway->close("400000000001").kind, CK::NotExist);

  control("/sim/alipay/scan", R"({"out_trade_no":"400000000001"})");
  EXPECT_EQ(gateway->query("400000000001").kind, QK::Waiting);
  EXPECT_EQ(gateway->close("400000000001").kind, CK::Closed);
  EXPECT_EQ(gateway->query("400000000001").kind, QK::Closed);
  EXPECT_EQ(gateway->close("400000000001").kind, CK::StatusError);

  control("/sim/alipay/trade",
          R"({"out_trade_no":"400000000002","total_amount":"9.99","status":"TRADE_SUCCESS"})");
  const auto paid = gateway->query("400000000002");
  EXPECT_EQ(paid.kind, QK::Paid);
  EXPECT_EQ(paid.amount, core::Fen{999});
  EXPECT_TRUE(paid.paid_at.has_value());
  EXPECT_EQ(gateway->close("400000000002").kind, CK::StatusError);
}

TEST_F(GatewayOverSockets, PageModeNeedsNoServerCallAndTheFormIsAcceptedByTheSim) {
  auto page = make(PayMode::Page);
  control("/sim/alipay/fault", R"({"kind":"drop"})");  // a server call would fail
  const auto form = page->create_pay_form(order("400000000003", 100));
  ASSERT_TRUE(form.ok);
  EXPECT_NE(form.data.find("<form"), std::string::npos);
  control("/sim/alipay/faults/clear", "");
  const std::string url =
      page->requests().page_pay_url(page->requests().trade_of(order("400000000003", 100)));
  const auto shown = sim.handle({"GET", url.substr(url.find("/gateway.do")), "", {}});
  EXPECT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(page->query("400000000003").kind, QK::Waiting);
}

TEST_F(GatewayOverSockets, EveryFaultYieldsUnclear) {
  // Faults that damage the answer let the close happen at the gateway; the others stop it.
  const std::vector<std::pair<std::string, QK>> kinds = {
      {"http_error", QK::Waiting}, {"system_error", QK::Waiting}, {"drop", QK::Waiting},
      {"hang", QK::Waiting},       {"bad_sign", QK::Closed},      {"no_sign", QK::Closed},
      {"truncate", QK::Closed}};
  int n = 10;
  for (const auto& [kind, after_close] : kinds) {
    const std::string id = "4000000000" + std::to_string(n++);
    control("/sim/alipay/trade", R"({"out_trade_no":")" + id + R"(","total_amount":"1.00"})");
    control("/sim/alipay/fault", R"({"kind":")" + kind + R"("})");
    const auto q = gateway->query(id);
    EXPECT_EQ(q.kind, QK::Unclear) << kind << ": " << q.detail;
    EXPECT_EQ(gateway->close(id).kind, CK::Unclear) << kind;
    control("/sim/alipay/faults/clear", "");
    EXPECT_EQ(gateway->query(id).kind, after_close) << kind;
  }
  control("/sim/alipay/trade", R"({"out_trade_no":"400000000004","total_amount":"1.00"})");
  control("/sim/alipay/fault",
          R"({"kind":"latency","delay_ms":1000,"count":1})");  // beyond the 400 ms timeout
  EXPECT_EQ(gateway->query("400000000004").kind, QK::Unclear);
  control("/sim/alipay/fault",
          R"({"kind":"http_error","method":"alipay.trade.precreate","count":1})");
  EXPECT_FALSE(gateway->create_pay_form(order("400000000005", 100)).ok);
  EXPECT_TRUE(gateway->create_pay_form(order("400000000005", 100)).ok);
}

TEST(AlipayGatewayErrors, ANetworkErrorNamesTheGateway) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  net::HttpClient client{io};
  std::thread io_thread{[&] { io.run(); }};
  core::SystemClock clock;
  AlipayConfig c;
  c.gateway = "http://127.0.0.1:1/gateway.do";  // nothing listens on port 1
  c.app_id = "2021000000000001";
  c.private_key = test::key_text("app_pkcs8.pem");
  c.alipay_public_key = test::key_text("ali_pub.pem");
  c.timeout = std::chrono::milliseconds(2000);
  {
    auto gateway =
        std::get<std::unique_ptr<AlipayGateway>>(AlipayGateway::create(c, client, clock));
    const auto q = gateway->query("400000000099");
    EXPECT_EQ(q.kind, QK::Unclear);
    EXPECT_NE(q.detail.find("alipay gateway http://127.0.0.1:1/gateway.do: connect: "),
              std::string::npos)
        << q.detail;
  }
  work.reset();
  io.stop();
  io_thread.join();
}

TEST_F(GatewayOverSockets, ARefundMovesMoneyOnceAndAResendIsConfirmedByTheQuery) {
  control("/sim/alipay/trade",
          R"({"out_trade_no":"400000000050","total_amount":"9.99","status":"TRADE_SUCCESS"})");
  const RefundRequest r{"400000000050", "RF400000000050", core::Fen{999}, "test", ""};
  EXPECT_EQ(gateway->refund_query(r).kind, RefundQueryResult::Kind::NotRefunded);
  const auto first = gateway->refund(r);
  EXPECT_EQ(first.kind, RefundResult::Kind::Refunded) << first.detail;
  EXPECT_EQ(first.refund_fee, core::Fen{999});
  const auto again = gateway->refund(r);
  EXPECT_EQ(again.kind, RefundResult::Kind::NoFundChange) << again.detail;
  const auto q = gateway->refund_query(r);
  EXPECT_EQ(q.kind, RefundQueryResult::Kind::Succeeded) << q.detail;
  EXPECT_EQ(q.refund_amount, core::Fen{999});
  const auto trade = boost::json::parse(
      sim.handle({"GET", "/sim/alipay/trade?out_trade_no=400000000050", "", {}}).body);
  EXPECT_EQ(trade.at("trade").at("refunded_amount").as_string(), "9.99");
  EXPECT_EQ(trade.at("trade").at("refund_count").as_int64(), 1);
  EXPECT_EQ(gateway->query("400000000050").kind, QK::Closed) << "fully refunded";
}

TEST_F(GatewayOverSockets, AFinishedTradeRefusesTheRefundForGood) {
  control("/sim/alipay/trade",
          R"({"out_trade_no":"400000000051","total_amount":"9.99","status":"TRADE_FINISHED"})");
  const auto r = gateway->refund({"400000000051", "RF400000000051", core::Fen{999}, "", ""});
  EXPECT_EQ(r.kind, RefundResult::Kind::Refused) << r.detail;
  EXPECT_NE(r.detail.find("ACQ.TRADE_HAS_FINISHED"), std::string::npos);
}

TEST_F(GatewayOverSockets, EveryFaultMakesARefundUnclear) {
  int n = 60;
  for (const char* kind :
       {"http_error", "system_error", "drop", "hang", "bad_sign", "no_sign", "truncate"}) {
    const std::string id = "4000000000" + std::to_string(n++);
    control("/sim/alipay/trade",
            R"({"out_trade_no":")" + id + R"(","total_amount":"1.00","status":"TRADE_SUCCESS"})");
    control("/sim/alipay/fault", R"({"kind":")" + std::string(kind) + R"("})");
    const RefundRequest r{id, "RF" + id, core::Fen{100}, "", ""};
    EXPECT_EQ(gateway->refund(r).kind, RefundResult::Kind::Unclear) << kind;
    EXPECT_EQ(gateway->refund_query(r).kind, RefundQueryResult::Kind::Unclear) << kind;
    control("/sim/alipay/faults/clear", "");
  }
}

TEST_F(GatewayOverSockets, PayButtonSendsAVerifiableNotifyAndRetriesUntilSuccess) {
  std::mutex mu;
  std::vector<sim::SimRequest> received;
  test::LoopbackSimServer shop{[&](const sim::SimRequest& r) {
    std::lock_guard lock(mu);
    received.push_back(r);
    sim::SimResponse res;
    res.body = received.size() < 3 ? "fail" : "success";  // make the sim retry twice
    return res;
  }};
  const std::string notify_url =
      "http://127.0.0.1:" + std::to_string(shop.port()) + "/api/v1/sale/pay_notify";
  control(
      "/sim/alipay/trade",
      R"({"out_trade_no":"400000000020","total_amount":"12.34","subject":"测试 A&B+100%","app_id":"2021000000000001","notify_url":")" +
          notify_url + R"("})");
  const auto paid = sim.handle({"POST", "/sim/alipay/pay", "out_trade_no=400000000020", {}});
  ASSERT_EQ(paid.status, 200) << paid.body;

  ASSERT_TRUE(testing::eventually(
      [&] {
        std::lock_guard lock(mu);
        return received.size() >= 3;
      },
      std::chrono::seconds(10)));
  std::lock_guard lock(mu);
  EXPECT_EQ(received.size(), 3u);  // nothing after `success`
  const core::Order o = order("400000000020", 1234);
  std::string notify_id;
  for (const auto& r : received) {
    EXPECT_EQ(r.header("Content-Type"),
              "application/x-www-form-urlencoded; text/html; charset=utf-8");
    const ParsedNotify n = gateway->parse_notify(r.body);
    EXPECT_TRUE(n.signature_ok);
    EXPECT_EQ(gateway->check_notify(n, &o), NotifyVerdict::Ok);
    EXPECT_EQ(find_param(n.params, "subject"), "测试 A&B+100%");
    if (notify_id.empty()) notify_id = n.fields.notify_id;
    EXPECT_EQ(n.fields.notify_id, notify_id);
  }
  EXPECT_EQ(gateway->query("400000000020").kind, QK::Paid);
}

TEST(AlipayGatewayConfig, BadKeysAreReportedWithoutKeyMaterial) {
  boost::asio::io_context io;
  net::HttpClient client{io};
  core::SystemClock clock;
  AlipayConfig c;
  c.app_id = "2021000000000001";
  c.private_key = "MIIEsecretbutbroken";
  c.alipay_public_key = test::key_text("ali_pub.pem");
  auto made = AlipayGateway::create(c, client, clock);
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_EQ(std::get<std::string>(made).find("secret"), std::string::npos);
}

}  // namespace
}  // namespace chatglmd::pay
