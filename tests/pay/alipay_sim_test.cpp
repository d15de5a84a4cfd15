// The simulator's Alipay half driven in-process with requests from our own builder; answers are
// judged by our own verifier, so sim and adapter must agree on every byte that is signed.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>

#include "alipay_gateway_sim.hpp"
#include "alipay_notifier.hpp"
#include "pay/alipay_request.hpp"
#include "pay/alipay_response.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "test_keys.hpp"

namespace chatglmd::pay {
namespace {

using QK = TradeQueryResult::Kind;
using CK = TradeCloseResult::Kind;

struct SimFixture : ::testing::Test {
  sim::AlipayGatewaySim sim{{testing::fixture("ali_pkcs1.pem"), testing::fixture("app_pub.pem")}};
  core::ManualClock clock{core::UtcMs{vectors_now()}};
  AlipayRequestBuilder builder{config(), test::signer("app_pkcs8.pem"), clock};
  RsaVerifier ali_pub = test::verifier("ali_pub.pem");

  static long long vectors_now() { return 1704135845000LL; }
  static AlipayConfig config() {
    AlipayConfig c;
    c.gateway = "http://127.0.0.1:9/gateway.do";
    c.app_id = "2021000000000001";
    c.notify_url = "";  // notifies are covered over sockets in the integration test
    return c;
  }
  // The sim judges time_expire on a clock pinned to the builder's.
  SimFixture() {
    EXPECT_EQ(
        control("POST", "/sim/alipay/clock", R"({"now_ms":)" + std::to_string(vectors_now()) + "}")
            .status,
        200);
  }
  static core::Order order(std::string id, std::int64_t fen) {
    core::Order o;
    o.order_id = std::move(id);
    o.amount = core::Fen{fen};
    o.order_time = core::UtcMs{vectors_now()};
    o.product_name = "100 chats";
    return o;
  }
  sim::SimResponse send(const net::HttpRequest& req) {
    sim::SimRequest s;
    s.method = req.method;
    s.target = req.url.substr(req.url.find("/gateway.do"));
    s.body = req.body;
    s.headers = req.headers;
    s.headers.emplace_back("Host", "127.0.0.1:9");
    EXPECT_TRUE(sim.handles(s));
    return sim.handle(s);
  }
  sim::SimResponse control(std::string method, std::string target, std::string body = "") {
    sim::SimRequest s{std::move(method),
                      std::move(target),
                      std::move(body),
                      {{"Content-Type", "application/json"}}};
    EXPECT_TRUE(sim.handles(s));
    return sim.handle(s);
  }
  static std::string delivered(const sim::SimResponse& r) {
    return r.truncate_at >= 0 ? r.body.substr(0, static_cast<std::size_t>(r.truncate_at)) : r.body;
  }
  TradeQueryResult query(const std::string& id) {
    auto r = send(builder.query(id));
    return interpret_query(verify_reply(r.status, delivered(r), kMethodQuery, ali_pub), id);
  }
  TradeCloseResult close(const std::string& id) {
    auto r = send(builder.close(id));
    return interpret_close(verify_reply(r.status, delivered(r), kMethodClose, ali_pub), id);
  }
};

TEST_F(SimFixture, PrecreateTradeExistsOnlyAfterAScan) {
  auto r = send(builder.precreate(order("100000000001", 999)));
  auto pre = interpret_precreate(verify_reply(r.status, r.body, kMethodPrecreate, ali_pub),
                                 "100000000001");
  ASSERT_TRUE(pre.ok) << pre.detail;
  EXPECT_EQ(pre.data, "http://127.0.0.1:9/sim/alipay/scan?out_trade_no=100000000001");
  EXPECT_EQ(query("100000000001").kind, QK::NotExist);
  EXPECT_EQ(close("100000000001").kind, CK::NotExist);
  EXPECT_EQ(control("POST", "/sim/alipay/scan", R"({"out_trade_no":"100000000001"})").status, 200);
  EXPECT_EQ(query("100000000001").kind, QK::Waiting);
  EXPECT_EQ(close("100000000001").kind, CK::Closed);
  EXPECT_EQ(query("100000000001").kind, QK::Closed);
  EXPECT_EQ(close("100000000001").kind, CK::StatusError);
}

TEST_F(SimFixture, PagePayShowsAPayButtonAndPayingMakesTheTradePaid) {
  const std::string url = builder.page_pay_url(order("100000000002", 1234));
  sim::SimRequest get{"GET", url.substr(url.find("/gateway.do")), "", {}};
  auto page = sim.handle(get);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("id=\"pay\""), std::string::npos);
  EXPECT_NE(page.body.find("12.34"), std::string::npos);
  EXPECT_EQ(query("100000000002").kind, QK::Waiting);

  sim::SimRequest pay{"POST",
                      "/sim/alipay/pay",
                      "out_trade_no=100000000002",
                      {{"Content-Type", "application/x-www-form-urlencoded"}}};
  auto paid_page = sim.handle(pay);
  EXPECT_EQ(paid_page.status, 200);
  EXPECT_NE(paid_page.body.find("TRADE_SUCCESS"), std::string::npos);
  const auto q = query("100000000002");
  EXPECT_EQ(q.kind, QK::Paid);
  EXPECT_EQ(q.amount, core::Fen{1234});
  EXPECT_FALSE(q.trade_no.empty());
  EXPECT_TRUE(q.paid_at.has_value());
  EXPECT_EQ(close("100000000002").kind, CK::StatusError);
}

TEST_F(SimFixture, PagePayFormPostIsAcceptedToo) {
  const std::string html = builder.page_pay_form(order("100000000003", 100));
  // The browser posts biz_content in the body to the action URL.
  auto a = html.find("action=\"") + 8;
  std::string action = html.substr(a, html.find('"', a) - a);
  for (std::size_t p; (p = action.find("&amp;")) != std::string::npos;) action.replace(p, 5, "&");
  const std::string biz = page_pay_biz_content(builder.trade_of(order("100000000003", 100)));
  sim::SimRequest post{
      "POST", action.substr(action.find("/gateway.do")), form_encode({{"biz_content", biz}}), {}};
  auto page = sim.handle(post);
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(query("100000000003").kind, QK::Waiting);
}

// What the sim saw of a trade, as its control API reports it.
std::string seen_time_expire(const sim::SimResponse& r) {
  auto v = boost::json::parse(r.body);
  const auto* t = v.at("trade").as_object().if_contains("time_expire");
  return t != nullptr ? std::string(t->as_string()) : "<none>";
}

TEST_F(SimFixture, TheSimSeesTimeExpireOfPagePayAndPrecreate) {
  // Order time 2024-01-02 03:04:05 Beijing + the 30m close threshold.
  send(builder.precreate(order("100000000011", 999)));
  EXPECT_EQ(seen_time_expire(control("GET", "/sim/alipay/trade?out_trade_no=100000000011")),
            "2024-01-02 03:34:05");
  const std::string url = builder.page_pay_url(order("100000000012", 999));
  ASSERT_EQ(sim.handle({"GET", url.substr(url.find("/gateway.do")), "", {}}).status, 200);
  EXPECT_EQ(seen_time_expire(control("GET", "/sim/alipay/trade?out_trade_no=100000000012")),
            "2024-01-02 03:34:05");
}

TEST_F(SimFixture, PastTimeExpireNoTradeIsCreatedAndAWaitingTradeCloses) {
  const std::string opened = builder.page_pay_url(order("100000000013", 100));
  ASSERT_EQ(sim.handle({"GET", opened.substr(opened.find("/gateway.do")), "", {}}).status, 200);
  EXPECT_EQ(query("100000000013").kind, QK::Waiting);
  // Exactly at time_expire the trade still takes money; one second later it does not.
  control("POST", "/sim/alipay/clock", R"({"advance_ms":1800000})");
  EXPECT_EQ(query("100000000013").kind, QK::Waiting);
  control("POST", "/sim/alipay/clock", R"({"advance_ms":1000})");
  EXPECT_EQ(query("100000000013").kind, QK::Closed);
  sim::SimRequest pay{"POST",
                      "/sim/alipay/pay",
                      "out_trade_no=100000000013",
                      {{"Content-Type", "application/x-www-form-urlencoded"}}};
  EXPECT_EQ(sim.handle(pay).status, 409);

  // A cashier opened, or a QR asked for, after time_expire creates nothing.
  const std::string late = builder.page_pay_url(order("100000000014", 100));
  auto refused = sim.handle({"GET", late.substr(late.find("/gateway.do")), "", {}});
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.body.find("ACQ.TRADE_HAS_CLOSE"), std::string::npos) << refused.body;
  auto r = send(builder.precreate(order("100000000015", 100)));
  auto pre = interpret_precreate(verify_reply(r.status, r.body, kMethodPrecreate, ali_pub),
                                 "100000000015");
  EXPECT_FALSE(pre.ok);
  EXPECT_NE(pre.detail.find("ACQ.TRADE_HAS_CLOSE"), std::string::npos) << pre.detail;
  for (const char* id : {"100000000014", "100000000015"}) {
    EXPECT_EQ(control("GET", std::string("/sim/alipay/trade?out_trade_no=") + id).status, 404);
    EXPECT_EQ(query(id).kind, QK::NotExist);
  }
}

TEST_F(SimFixture, BadRequestSignatureIsRefused) {
  auto req = builder.query("100000000004");
  req.body = form_encode(
      {{"biz_content", R"({"out_trade_no":"100000000005"})"}});  // altered after signing
  auto r = send(req);
  auto check = verify_reply(r.status, r.body, kMethodQuery, ali_pub);
  ASSERT_TRUE(check.reply);
  EXPECT_EQ(check.reply->sub_code(), "isv.invalid-signature");
  EXPECT_EQ(interpret_query(check, "100000000005").kind, QK::Unclear);
}

TEST_F(SimFixture, ControlApiSetsStatesAndAmounts) {
  EXPECT_EQ(
      control("POST", "/sim/alipay/trade",
              R"({"out_trade_no":"200000000001","total_amount":"9.99","status":"TRADE_SUCCESS"})")
          .status,
      200);
  auto q = query("200000000001");
  EXPECT_EQ(q.kind, QK::Paid);
  EXPECT_EQ(q.amount, core::Fen{999});
  EXPECT_EQ(control("POST", "/sim/alipay/trade",
                    R"({"out_trade_no":"200000000001","total_amount":"9.98"})")
                .status,
            200);
  EXPECT_EQ(query("200000000001").amount, core::Fen{998});
  EXPECT_EQ(control("POST", "/sim/alipay/trade",
                    R"({"out_trade_no":"200000000001","status":"TRADE_CLOSED"})")
                .status,
            200);
  EXPECT_EQ(query("200000000001").kind, QK::Closed);
  EXPECT_NE(control("GET", "/sim/alipay/trade?out_trade_no=200000000001").body.find("TRADE_CLOSED"),
            std::string::npos);
  EXPECT_EQ(control("GET", "/sim/alipay/trade?out_trade_no=nope").status, 404);
  EXPECT_EQ(
      control("POST", "/sim/alipay/trade", R"({"out_trade_no":"x","total_amount":"1e2"})").status,
      400);
  EXPECT_EQ(control("POST", "/sim/alipay/reset").status, 200);
  EXPECT_EQ(query("200000000001").kind, QK::NotExist);
}

TEST_F(SimFixture, EveryInjectedFaultMakesTheAnswerUnclear) {
  control("POST", "/sim/alipay/trade",
          R"({"out_trade_no":"300000000001","total_amount":"1.00","status":"TRADE_SUCCESS"})");
  ASSERT_EQ(query("300000000001").kind, QK::Paid);
  for (std::string kind : {"http_error", "system_error", "bad_sign", "no_sign", "truncate"}) {
    control("POST", "/sim/alipay/fault",
            R"({"kind":")" + kind + R"(","method":"alipay.trade.query","count":1})");
    EXPECT_EQ(query("300000000001").kind, QK::Unclear) << kind;
    EXPECT_EQ(query("300000000001").kind, QK::Paid) << kind << " should hit once";
  }
  // hang and drop are carried out by the server; the handler only says so.
  control("POST", "/sim/alipay/fault", R"({"kind":"hang","count":1})");
  EXPECT_TRUE(send(builder.query("300000000001")).hang);
  control("POST", "/sim/alipay/fault", R"({"kind":"drop","count":1})");
  EXPECT_TRUE(send(builder.query("300000000001")).drop);
  control("POST", "/sim/alipay/fault", R"({"kind":"latency","delay_ms":250,"count":1})");
  auto slow = send(builder.query("300000000001"));
  EXPECT_EQ(slow.delay_ms, 250);
  EXPECT_EQ(
      interpret_query(verify_reply(slow.status, slow.body, kMethodQuery, ali_pub), "300000000001")
          .kind,
      QK::Paid);
}

TEST_F(SimFixture, FaultsArePerMethodAndPermanentUntilCleared) {
  control("POST", "/sim/alipay/trade", R"({"out_trade_no":"300000000002","total_amount":"1.00"})");
  control("POST", "/sim/alipay/fault",
          R"({"kind":"http_error","status":503,"method":"alipay.trade.close"})");
  EXPECT_EQ(query("300000000002").kind, QK::Waiting);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(close("300000000002").kind, CK::Unclear);
  EXPECT_EQ(send(builder.close("300000000002")).status, 503);
  control("POST", "/sim/alipay/faults/clear");
  EXPECT_EQ(close("300000000002").kind, CK::Closed);
  EXPECT_EQ(control("POST", "/sim/alipay/fault", R"({"kind":"meteor"})").status, 400);
}

// A retry still waiting when the notifier goes away held the notifier's state, which owns the
// loop that holds the retry: a cycle nothing freed (LeakSanitizer in chatglmd-sim). The state
// keeps the attempt callback, so the callback's own captures show whether it was freed.
TEST(AlipayNotifier, APendingRetryDoesNotKeepItAliveAfterItIsDestroyed) {
  auto token = std::make_shared<int>(0);
  std::atomic<int> attempts{0};
  {
    sim::AlipayNotifier notifier([token, &attempts](const sim::NotifyAttempt&) { ++attempts; });
    // Nothing listens there: the first attempt fails at once and a retry waits for an hour.
    notifier.send("T1", "http://127.0.0.1:" + std::to_string(chatglmd::testing::free_port()) + "/n",
                  "a=1", {std::chrono::hours(1)});
    ASSERT_TRUE(chatglmd::testing::eventually([&] { return attempts.load() == 1; },
                                              std::chrono::seconds(10)));
  }
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
}  // namespace chatglmd::pay
