// The product list is served from memory: an admin change made by another process (`chatglmd
// product add/disable`) shows at the next request (its change stamp is checked per request),
// without restarting or signalling serve.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "daemon/daemon_client.hpp"

namespace chatglmd::testing {
namespace {

std::vector<std::int64_t> listed_ids(const DaemonHarness& d) {
  auto reply = d.request("GET", "/api/v1/sale/query_product_list");
  EXPECT_EQ(reply.status, 200);
  auto body = boost::json::parse(reply.body).as_object();
  EXPECT_EQ(body.at("code").as_string(), "0000");
  std::vector<std::int64_t> ids;
  for (const auto& p : body.at("data").as_array()) ids.push_back(p.at("productId").as_int64());
  return ids;
}

TEST(Catalogue, AdminChangesFromAnotherProcessShowAtTheNextRequest) {
  DaemonHarness d;
  run_ok(d, {"product", "add", "--id", "7", "--name", "ten", "--price", "1.00", "--quota", "10",
             "--sort", "5"});
  ASSERT_EQ(listed_ids(d), std::vector<std::int64_t>{7});
  auto reply = d.request("GET", "/api/v1/sale/query_product_list");
  auto product = boost::json::parse(reply.body).at("data").as_array().at(0).as_object();
  EXPECT_EQ(product.at("productName").as_string(), "ten");
  EXPECT_EQ(product.at("quota").as_int64(), 10);
  EXPECT_EQ(product.at("priceFen").as_int64(), 100);

  run_ok(d, {"product", "add", "--id", "8", "--name", "fifty", "--price", "4.50", "--quota", "50",
             "--sort", "0"});
  ASSERT_EQ(listed_ids(d), (std::vector<std::int64_t>{8, 7}));
  run_ok(d, {"product", "disable", "7"});
  EXPECT_EQ(listed_ids(d), std::vector<std::int64_t>{8});
  run_ok(d, {"product", "enable", "7"});
  EXPECT_EQ(listed_ids(d), (std::vector<std::int64_t>{8, 7}));
}

}  // namespace
}  // namespace chatglmd::testing
