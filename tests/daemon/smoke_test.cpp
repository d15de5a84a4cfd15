// The whole sale: create an order, pay on the simulated Alipay page, the signed notify comes
// back, the quota is delivered once; then chat spends it.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

TEST(DaemonSmoke, BuyThenChat) {
  DaemonHarness d;
  ASSERT_EQ(d.cli({"product", "add", "--id", "1002", "--name", "100 chats", "--price", "9.99",
                   "--quota", "100", "--models", "glm-4"})
                .exit_code,
            0);
  std::string token = d.token_for("buyer-1");

  auto products = boost::json::parse(d.request("GET", "/api/v1/sale/query_product_list").body);
  ASSERT_EQ(products.at("code").as_string(), "0000");
  EXPECT_EQ(products.at("data").as_array()[0].at("priceFen").as_int64(), 999);

  auto created = boost::json::parse(
      d.post_form("/api/v1/sale/create_pay_order", "productId=1002", token).body);
  ASSERT_EQ(created.at("code").as_string(), "0000") << created;
  std::string form = std::string(created.at("data").as_string());
  EXPECT_NE(form.find("alipay.trade.page.pay"), std::string::npos);

  auto orders = boost::json::parse(d.cli({"order", "list", "--json"}).out).as_array();
  ASSERT_EQ(orders.size(), 1u);
  std::string order_id(orders[0].at("orderId").as_string());

  // The buyer's browser submits the form (the trade appears at the gateway) and presses Pay.
  auto page = submit_pay_form(form);
  ASSERT_EQ(page.status, 200) << page.raw;
  auto pay = http_request(d.sim().port(), "POST", "/sim/alipay/pay", "out_trade_no=" + order_id);
  ASSERT_EQ(pay.status, 200) << pay.raw;
  ASSERT_TRUE(eventually([&] {
    auto o = boost::json::parse(d.cli({"order", "show", order_id, "--json"}).out);
    return o.at("status").as_string() == "DELIVERED";
  })) << d.log();

  auto quota =
      boost::json::parse(d.post_form("/api/v1/account/query_account_quota", "", token).body);
  EXPECT_EQ(quota.at("data").at("surplusQuota").as_int64(), 100);

  auto chat =
      d.post_json("/api/v1/chatgpt/chat/completions",
                  R"({"model":"glm-4","messages":[{"role":"user","content":"hello"}]})", token);
  EXPECT_EQ(chat.status, 200);
  EXPECT_NE(chat.body.find("hello"), std::string::npos) << chat.body;
  quota = boost::json::parse(d.post_form("/api/v1/account/query_account_quota", "", token).body);
  EXPECT_EQ(quota.at("data").at("surplusQuota").as_int64(), 99);
  EXPECT_EQ(d.terminate(), 0);
}

}  // namespace
}  // namespace chatglmd::testing

namespace chatglmd::testing {
namespace {

// A double (or eightfold) click on Buy: the requests race, and exactly one order comes out.
TEST(DaemonSale, ConcurrentClicksMakeOneOrder) {
  DaemonHarness d;
  ASSERT_EQ(d.cli({"product", "add", "--id", "1001", "--name", "10 chats", "--price", "0.99",
                   "--quota", "10"})
                .exit_code,
            0);
  std::string token = d.token_for("clicker");
  std::vector<std::thread> clicks;
  std::vector<std::string> answers(8);
  for (int i = 0; i < 8; ++i) {
    clicks.emplace_back([&, i] {
      answers[static_cast<std::size_t>(i)] =
          d.post_form("/api/v1/sale/create_pay_order", "productId=1001", token).body;
    });
  }
  for (auto& t : clicks) t.join();
  for (const auto& a : answers) {
    EXPECT_EQ(boost::json::parse(a).at("code").as_string(), "0000") << a;
  }
  auto orders = boost::json::parse(d.cli({"order", "list", "--json"}).out).as_array();
  EXPECT_EQ(orders.size(), 1u);
}

}  // namespace
}  // namespace chatglmd::testing
