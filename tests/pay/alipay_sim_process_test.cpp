// AlipayGateway against the real chatglmd-sim process over sockets, the way the daemon and the
// jobs meet it: page pay, precreate and scan, query and close in every trade state, and every
// fault the sim injects coming back Unclear. The sim is driven through its JSON control API.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <thread>

#include "pay/alipay_gateway.hpp"
#include "sim_process.hpp"
#include "support/daemon_harness.hpp"
#include "test_keys.hpp"

namespace chatglmd::pay {
namespace {

using QK = TradeQueryResult::Kind;
using CK = TradeCloseResult::Kind;
using testing::http_request;

constexpr const char* kAppId = "2021000000000001";
constexpr const char* kSellerId = "2088102177649450";
constexpr auto kTimeout = std::chrono::milliseconds(400);  // each hang or slow answer costs this

struct GatewayAgainstSimProcess : ::testing::Test {
  static void SetUpTestSuite() {
    sim = new testing::SimProcess({"--alipay-key", testing::fixture("ali_pkcs1.pem"),
                                   "--app-public-key", testing::fixture("app_pub.pem"),
                                   "--seller-id", kSellerId});
  }
  static void TearDownTestSuite() {
    delete sim;
    sim = nullptr;
  }
  GatewayAgainstSimProcess() {
    control("/sim/alipay/reset", "{}");
    gateway = make(PayMode::Precreate);
  }
  ~GatewayAgainstSimProcess() override {
    gateway.reset();
    work.reset();
    io.stop();
    io_thread.join();
  }
  std::unique_ptr<AlipayGateway> make(PayMode mode) {
    AlipayConfig c;
    c.gateway = sim->url("/gateway.do");
    c.app_id = kAppId;
    c.private_key = test::key_text("app_pkcs1.pem");
    c.alipay_public_key = test::key_text("ali_pub.pem");
    c.seller_id = kSellerId;
    c.notify_url = "http://127.0.0.1:9/api/v1/sale/pay_notify";  // nobody listens: notifies are not
                                                                 // the point here
    c.mode = mode;
    c.timeout = kTimeout;
    auto made = AlipayGateway::create(c, client, clock);
    if (!std::holds_alternative<std::unique_ptr<AlipayGateway>>(made))
      throw std::runtime_error(std::get<std::string>(made));
    return std::move(std::get<std::unique_ptr<AlipayGateway>>(made));
  }
  static boost::json::value control(const std::string& target, const std::string& json) {
    auto r =
        http_request(sim->port(), "POST", target, json, {{"Content-Type", "application/json"}});
    if (r.status != 200)
      throw std::runtime_error(target + " answered " + std::to_string(r.status) + ": " + r.body);
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    return ec ? boost::json::value(nullptr) : v;
  }
  // The sim's own record of the trade ("" when it has none).
  static std::string sim_status(const std::string& id) {
    auto r = http_request(sim->port(), "GET", "/sim/alipay/trade?out_trade_no=" + id);
    if (r.status != 200) return "";
    return std::string(boost::json::parse(r.body).at("trade").at("status").as_string());
  }
  static void make_trade(const std::string& id, const std::string& amount,
                         const std::string& status = "WAIT_BUYER_PAY") {
    control("/sim/alipay/trade",
            boost::json::serialize(boost::json::object{
                {"out_trade_no", id}, {"total_amount", amount}, {"status", status}}));
  }
  static void clear_faults() { control("/sim/alipay/faults/clear", "{}"); }
  static void fault(boost::json::object f) {
    control("/sim/alipay/fault", boost::json::serialize(f));
  }
  static core::Order order(std::string id, std::int64_t fen) {
    core::Order o;
    o.order_id = std::move(id);
    o.amount = core::Fen{fen};
    o.order_time = core::SystemClock().now();  // so its time_expire lies ahead of the sim's clock
    o.product_name = "100 chats";
    return o;
  }

  static testing::SimProcess* sim;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  net::HttpClient client{io};
  std::thread io_thread{[this] { io.run(); }};
  core::SystemClock clock;
  std::unique_ptr<AlipayGateway> gateway;
};
testing::SimProcess* GatewayAgainstSimProcess::sim = nullptr;

TEST_F(GatewayAgainstSimProcess, PrecreateThenScanThenQueryAndClose) {
  const auto form = gateway->create_pay_form(order("500000000001", 999));
  ASSERT_TRUE(form.ok) << form.detail;
  EXPECT_NE(form.data.find("/sim/alipay/scan?out_trade_no=500000000001"), std::string::npos)
      << form.data;
  // Nobody scanned the QR yet: Alipay does not know the trade.
  EXPECT_EQ(gateway->query("500000000001").kind, QK::NotExist);
  EXPECT_EQ(gateway->close("500000000001").kind, CK::NotExist);

  // The buyer scans: the QR URL is a page of the sim.
  auto scan =
      http_request(sim->port(), "GET", form.data.substr(form.data.find("/sim/alipay/scan")));
  EXPECT_EQ(scan.status, 200);
  EXPECT_EQ(gateway->query("500000000001").kind, QK::Waiting);
  EXPECT_EQ(gateway->close("500000000001").kind, CK::Closed);
  EXPECT_EQ(gateway->query("500000000001").kind, QK::Closed);
  EXPECT_EQ(gateway->close("500000000001").kind, CK::StatusError);  // already closed
}

TEST_F(GatewayAgainstSimProcess, QueryAndCloseInEveryTradeState) {
  make_trade("500000000010", "9.99", "WAIT_BUYER_PAY");
  make_trade("500000000011", "12.34", "TRADE_SUCCESS");
  make_trade("500000000012", "0.01", "TRADE_FINISHED");
  make_trade("500000000013", "9.99", "TRADE_CLOSED");

  EXPECT_EQ(gateway->query("500000000010").kind, QK::Waiting);
  const auto success = gateway->query("500000000011");
  EXPECT_EQ(success.kind, QK::Paid);
  EXPECT_EQ(success.amount, core::Fen{1234});
  EXPECT_FALSE(success.trade_no.empty());
  EXPECT_TRUE(success.paid_at.has_value());
  const auto finished = gateway->query("500000000012");
  EXPECT_EQ(finished.kind, QK::Paid);
  EXPECT_EQ(finished.amount, core::Fen{1});
  EXPECT_EQ(gateway->query("500000000013").kind, QK::Closed);
  EXPECT_EQ(gateway->query("500000000019").kind, QK::NotExist);

  // Only a trade waiting for the buyer can be closed; paid ones answer a status error, so the
  // caller queries and finds the payment.
  EXPECT_EQ(gateway->close("500000000011").kind, CK::StatusError);
  EXPECT_EQ(gateway->close("500000000012").kind, CK::StatusError);
  EXPECT_EQ(gateway->close("500000000013").kind, CK::StatusError);
  EXPECT_EQ(gateway->close("500000000019").kind, CK::NotExist);
  EXPECT_EQ(gateway->close("500000000010").kind, CK::Closed);
  EXPECT_EQ(sim_status("500000000010"), "TRADE_CLOSED");
  EXPECT_EQ(sim_status("500000000011"), "TRADE_SUCCESS");
}

TEST_F(GatewayAgainstSimProcess, PagePayFormIsAcceptedAndPaidAtTheSim) {
  auto page = make(PayMode::Page);
  // Page mode makes no server call: a fault on every method does not stop the form.
  fault({{"kind", "drop"}});
  const auto form = page->create_pay_form(order("500000000020", 1999));
  ASSERT_TRUE(form.ok) << form.detail;
  EXPECT_NE(form.data.find("<form"), std::string::npos);
  control("/sim/alipay/faults/clear", "{}");

  // What the browser does: POST the form to the sim, which checks our signature.
  auto shown = testing::submit_pay_form(form.data);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(page->query("500000000020").kind, QK::Waiting);

  auto paid = http_request(sim->port(), "POST", "/sim/alipay/pay", "out_trade_no=500000000020");
  ASSERT_EQ(paid.status, 200) << paid.body;
  const auto q = page->query("500000000020");
  EXPECT_EQ(q.kind, QK::Paid);
  EXPECT_EQ(q.amount, core::Fen{1999});
  EXPECT_EQ(page->close("500000000020").kind, CK::StatusError);
}

TEST_F(GatewayAgainstSimProcess, EveryFaultIsUnclearOnQueryAndClose) {
  struct Case {
    const char* name;
    boost::json::object fault;
  };
  const std::vector<Case> cases = {
      {"latency beyond the timeout", {{"kind", "latency"}, {"delay_ms", 1200}}},
      {"HTTP 500", {{"kind", "http_error"}, {"status", 500}}},
      {"HTTP 502", {{"kind", "http_error"}}},
      {"HTTP 503", {{"kind", "http_error"}, {"status", 503}}},
      {"ACQ.SYSTEM_ERROR", {{"kind", "system_error"}}},
      {"bad signature", {{"kind", "bad_sign"}}},
      {"no signature", {{"kind", "no_sign"}}},
      {"truncated answer", {{"kind", "truncate"}}},
      {"connection dropped", {{"kind", "drop"}}},
      {"no answer", {{"kind", "hang"}}},
  };
  int n = 30;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (const std::string status : {"WAIT_BUYER_PAY", "TRADE_SUCCESS"}) {
      const std::string id = "5000000000" + std::to_string(n++);
      make_trade(id, "1.00", status);
      // Until cleared: a dropped reused connection is retried once on a fresh one, and that
      // try must meet the fault too.
      auto f = c.fault;
      f["method"] = "alipay.trade.query";
      fault(f);
      const auto q = gateway->query(id);
      clear_faults();
      EXPECT_EQ(q.kind, QK::Unclear) << status << ": " << q.detail;
      EXPECT_FALSE(q.detail.empty());
      EXPECT_EQ(q.amount, core::Fen{0}) << "an unclear answer carries no payment";
      EXPECT_EQ(sim_status(id), status);  // a query changes nothing anywhere
      // Without the fault the next query sees the truth.
      EXPECT_EQ(gateway->query(id).kind, status == "TRADE_SUCCESS" ? QK::Paid : QK::Waiting);
    }

    const std::string id = "5000000000" + std::to_string(n++);
    make_trade(id, "1.00");
    auto f = c.fault;
    f["method"] = "alipay.trade.close";
    fault(f);
    const auto closed = gateway->close(id);
    clear_faults();
    EXPECT_EQ(closed.kind, CK::Unclear) << closed.detail;
  }
}

TEST_F(GatewayAgainstSimProcess, FaultsOnPrecreateLeaveNoPayForm) {
  int n = 60;
  for (const std::string kind :
       {"http_error", "system_error", "bad_sign", "truncate", "drop", "hang"}) {
    SCOPED_TRACE(kind);
    const std::string id = "5000000000" + std::to_string(n++);
    fault({{"kind", kind}, {"method", "alipay.trade.precreate"}});
    const auto form = gateway->create_pay_form(order(id, 100));
    clear_faults();
    EXPECT_FALSE(form.ok);
    EXPECT_TRUE(form.data.empty());
    EXPECT_FALSE(form.detail.empty());
    // The next try (the buyer clicks again) gets its QR.
    EXPECT_TRUE(gateway->create_pay_form(order(id, 100)).ok);
  }
  // A fault aimed at another method leaves precreate alone.
  fault({{"kind", "system_error"}, {"method", "alipay.trade.close"}});
  EXPECT_TRUE(gateway->create_pay_form(order("500000000070", 100)).ok);
  clear_faults();
}

}  // namespace
}  // namespace chatglmd::pay
