// The real daemon's pay requests carry time_expire = order time + [jobs.timeout-close] after
// (Beijing time), in page mode (the form the browser takes to the cashier) and in precreate
// mode (the server call), and the real chatglmd-sim sees it.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "pay/alipay_time.hpp"
#include "store/sqlite_store.hpp"
#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

constexpr auto kCloseAfter = std::chrono::minutes(45);  // not the 30m default: read from config

struct Placed {
  std::string data;         // create_pay_order's `data`
  std::string time_expire;  // what it must carry, from the order's stored time
  std::string order_id;
};

Placed place_order(DaemonHarness& d) {
  auto added = d.cli({"product", "add", "--id", "1002", "--name", "100 chats", "--price", "9.99",
                      "--quota", "100", "--models", "glm-4"});
  EXPECT_EQ(added.exit_code, 0) << added.err;
  auto r = d.post_form("/api/v1/sale/create_pay_order", "productId=1002", d.token_for("te-buyer"));
  auto body = boost::json::parse(r.body);
  EXPECT_EQ(body.at("code").as_string(), "0000") << r.body;
  auto opened = store::open_sqlite_store({d.db(), "NORMAL", 10000, false});
  if (!opened.store) throw std::runtime_error(opened.error);
  auto orders = opened.store->orders().list({std::nullopt, std::string("te-buyer"), 10});
  EXPECT_EQ(orders.size(), 1u);
  return {std::string(body.at("data").as_string()),
          pay::format_alipay_time(pay::time_expire_of(orders.at(0).order_time, kCloseAfter)),
          orders.at(0).order_id};
}

std::string sim_time_expire(DaemonHarness& d, const std::string& order_id) {
  auto r = http_request(d.sim().port(), "GET", "/sim/alipay/trade?out_trade_no=" + order_id);
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200) return "<no trade>";
  const auto v = boost::json::parse(r.body);
  const auto* t = v.at("trade").as_object().if_contains("time_expire");
  return t != nullptr ? std::string(t->as_string()) : "<none>";
}

DaemonOptions options(const std::string& mode) {
  return DaemonOptions{{{"alipay.mode", mode},
                        {"jobs.timeout-close.after", "45m"},
                        {"jobs.timeout-close.enabled", "false"},
                        {"jobs.replenish-shipment.enabled", "false"},
                        {"jobs.reconcile.enabled", "false"},
                        {"jobs.close-followup.enabled", "false"}},
                       {}};
}

TEST(TimeExpireThroughTheDaemon, PagePayFormCarriesItAndTheCashierSeesIt) {
  DaemonHarness d{options("page")};
  const Placed p = place_order(d);
  EXPECT_NE(p.data.find("&quot;time_expire&quot;:&quot;" + p.time_expire + "&quot;"),
            std::string::npos)
      << p.data;
  EXPECT_EQ(p.data.find("timeout_express"), std::string::npos) << p.data;
  auto cashier = submit_pay_form(p.data);
  ASSERT_EQ(cashier.status, 200) << cashier.body;
  EXPECT_EQ(sim_time_expire(d, p.order_id), p.time_expire);
}

TEST(TimeExpireThroughTheDaemon, PrecreateSendsItToTheGateway) {
  DaemonHarness d{options("precreate")};
  const Placed p = place_order(d);
  EXPECT_NE(p.data.find("/sim/alipay/scan?out_trade_no=" + p.order_id), std::string::npos)
      << p.data;
  EXPECT_EQ(sim_time_expire(d, p.order_id), p.time_expire);
}

}  // namespace
}  // namespace chatglmd::testing
