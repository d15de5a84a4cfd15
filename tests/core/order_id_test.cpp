#include "core/order_id.hpp"

#include <gtest/gtest.h>

#include <set>

namespace chatglmd::core {
namespace {

TEST(OrderId, AlwaysTwelveDigitsWithoutLeadingZero) {
  for (std::uint64_t v : {0ULL, 1ULL, 899'999'999'999ULL, 900'000'000'000ULL, ~0ULL}) {
    std::string id = order_id_from(v);
    ASSERT_EQ(id.size(), 12u) << id;
    EXPECT_NE(id[0], '0');
    EXPECT_EQ(id.find_first_not_of("0123456789"), std::string::npos);
  }
}

TEST(OrderId, GeneratorSpreadsIdsOverTheWholeRange) {
  OrderIdGenerator gen(42);
  std::set<std::string> seen;
  // Collisions are possible (the store refuses a duplicate and the caller draws again); here we
  // check the ids use the whole 12-digit span rather than a narrow band.
  for (int i = 0; i < 10000; ++i) seen.insert(gen.next());
  EXPECT_GT(seen.size(), 9990u);
  EXPECT_LT(*seen.begin(), "200000000000");
  EXPECT_GT(*seen.rbegin(), "900000000000");
}

}  // namespace
}  // namespace chatglmd::core
