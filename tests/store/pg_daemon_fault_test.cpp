// `chatglmd serve` on PostgreSQL while the server goes away and comes back: /readyz turns 503,
// chat starts are refused (503 on /v1, 0001 on the original path) without taking quota, a paid
// notify answers `fail` (Alipay resends) and changes nothing; once the server is back the
// daemon reconnects by itself (with backoff), the resent notify is handled and chat works.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "daemon/daemon_client.hpp"
#include "pay/alipay_notify.hpp"
#include "support/pg_cluster.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::testing {
namespace {

const std::string kNotifyPath = "/api/v1/sale/pay_notify";

pay::Params paid_fields(const std::string& order_id) {
  return {{"notify_time", "2024-01-02 03:04:16"},
          {"notify_type", "trade_status_sync"},
          {"notify_id", "pgfault000001"},
          {"app_id", DaemonHarness::kAppId},
          {"charset", "utf-8"},
          {"version", "1.0"},
          {"trade_no", "2024010222001446880500000001"},
          {"out_trade_no", order_id},
          {"buyer_id", "2088102177846880"},
          {"seller_id", DaemonHarness::kSellerId},
          {"trade_status", "TRADE_SUCCESS"},
          {"total_amount", "9.99"},
          {"receipt_amount", "9.99"},
          {"subject", "100 chats"},
          {"gmt_create", "2024-01-02 03:04:10"},
          {"gmt_payment", "2024-01-02 03:04:15"}};
}

TEST(PgDaemonFaults, ServerLostWhileServingThenBack) {
  auto& cluster = PgCluster::shared();
  const std::string url = cluster.create_database("daemon_fault");
  DaemonHarness d(DaemonOptions{{{"store.url", url}}});
  run_ok(d, {"product", "add", "--id", "1002", "--name", "100 chats", "--price", "9.99", "--quota",
             "100", "--models", "glm-4"});
  run_ok(d, {"user", "add", "chatter", "--quota", "3"});
  const std::string token = d.token_for("chatter");
  ASSERT_TRUE(eventually([&] { return d.request("GET", "/readyz").status == 200; }));
  auto created = boost::json::parse(
      d.post_form("/api/v1/sale/create_pay_order", "productId=1002", d.token_for("buyer")).body);
  ASSERT_EQ(created.at("code").as_string(), "0000") << created;
  auto orders =
      boost::json::parse(d.cli({"order", "list", "--user", "buyer", "--json"}).out).as_array();
  ASSERT_EQ(orders.size(), 1u);
  const std::string order_id(orders.at(0).at("orderId").as_string());
  auto signer = pay::RsaSigner::from_text(read_file(fixture("ali_pkcs1.pem")));
  ASSERT_TRUE(signer);
  const std::string notify = pay::sign_notify_body(paid_fields(order_id), *signer);
  const std::vector<std::pair<std::string, std::string>> form = {
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};

  cluster.stop_immediate();
  EXPECT_TRUE(eventually([&] { return d.request("GET", "/readyz").status == 503; },
                         std::chrono::seconds(15)))
      << "readiness must follow the store";
  auto v1 = chat(d, kOpenAiChat, "Bearer " + token, chat_json("glm-4", "hello"));
  EXPECT_EQ(v1.status, 503) << v1.body;
  auto original = chat(d, kOriginalChat, token, chat_json("glm-4", "hello"));
  EXPECT_EQ(envelope_code(original), "0001") << original.body;
  auto refused = d.request("POST", kNotifyPath, notify, form);
  EXPECT_EQ(refused.body, "fail") << "Alipay must resend what could not be stored";
  EXPECT_TRUE(d.running()) << "a lost store is not a crash";

  cluster.start();
  // The daemon reconnects on its own; Alipay's resend is then handled once.
  EXPECT_TRUE(eventually([&] { return d.request("GET", "/readyz").status == 200; },
                         std::chrono::seconds(30)))
      << d.log();
  std::string answer;
  EXPECT_TRUE(eventually(
      [&] { return (answer = d.request("POST", kNotifyPath, notify, form).body) == "success"; },
      std::chrono::seconds(15)))
      << answer << d.log();
  const auto show = d.cli({"order", "show", order_id, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto shown = boost::json::parse(show.out);
  EXPECT_EQ(shown.at("status").as_string(), "DELIVERED") << shown;
  EXPECT_EQ(surplus_quota(d, "buyer"), 100);
  EXPECT_EQ(surplus_quota(d, "chatter"), 3) << "refused chats took no quota";
  auto again = chat(d, kOpenAiChat, "Bearer " + token, chat_json("glm-4", "hello"));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(surplus_quota(d, "chatter"), 2);
}

}  // namespace
}  // namespace chatglmd::testing
