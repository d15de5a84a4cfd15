#include "core/refund.hpp"

#include <gtest/gtest.h>

namespace chatglmd::core {
namespace {

TEST(Refund, RevokesTheOrdersQuotaButNeverWhatWasSpent) {
  EXPECT_EQ(quota_to_revoke(50, 120), 50);
  EXPECT_EQ(quota_to_revoke(50, 30), 30) << "20 chats of the order were spent already";
  EXPECT_EQ(quota_to_revoke(50, 0), 0);
  EXPECT_EQ(quota_to_revoke(0, 10), 0) << "a paid, undelivered order granted nothing";
}

TEST(Refund, TheRequestNumberIsStableForAnOrder) {
  // Every retry must send the same out_request_no, so it depends on the order alone.
  EXPECT_EQ(refund_request_no("123456789012"), refund_request_no("123456789012"));
  EXPECT_NE(refund_request_no("123456789012"), refund_request_no("123456789013"));
  EXPECT_LE(refund_request_no("123456789012").size(), 64u) << "Alipay's limit";
}

TEST(Refund, StatusAndPolicyNamesRoundTrip) {
  for (auto s : {RefundStatus::Requested, RefundStatus::Succeeded, RefundStatus::Failed})
    EXPECT_EQ(parse_refund_status(name_of(s)), s);
  EXPECT_EQ(parse_refund_status("done"), std::nullopt);
  EXPECT_EQ(parse_late_payment_policy("deliver"), LatePaymentPolicy::Deliver);
  EXPECT_EQ(parse_late_payment_policy("refund"), LatePaymentPolicy::Refund);
  EXPECT_EQ(parse_late_payment_policy("Refund"), std::nullopt);
}

}  // namespace
}  // namespace chatglmd::core
