#include "core/state_machine.hpp"

#include <gtest/gtest.h>

namespace chatglmd::core {
namespace {

using S = OrderState;
using E = OrderEvent;

struct Row {
  S from;
  E event;
  std::optional<S> to;  // nullopt: refused
  bool late = false;
};

// Every (state, event) pair, written out: the table is the specification.
const Row kTable[] = {
    {S::Created, E::PaymentConfirmed, S::Paid},
    {S::Created, E::QuotaGranted, std::nullopt},
    {S::Created, E::CloseConfirmed, S::Closed},
    {S::Created, E::RefundConfirmed, std::nullopt},
    {S::Paid, E::PaymentConfirmed, std::nullopt},
    {S::Paid, E::QuotaGranted, S::Delivered},
    {S::Paid, E::CloseConfirmed, std::nullopt},
    {S::Paid, E::RefundConfirmed, S::Refunded},
    {S::Delivered, E::PaymentConfirmed, std::nullopt},
    {S::Delivered, E::QuotaGranted, std::nullopt},
    {S::Delivered, E::CloseConfirmed, std::nullopt},
    {S::Delivered, E::RefundConfirmed, S::Refunded},
    {S::Closed, E::PaymentConfirmed, S::Paid, true},
    {S::Closed, E::QuotaGranted, std::nullopt},
    {S::Closed, E::CloseConfirmed, std::nullopt},
    {S::Closed, E::RefundConfirmed, std::nullopt},
    {S::Refunded, E::PaymentConfirmed, std::nullopt},
    {S::Refunded, E::QuotaGranted, std::nullopt},
    {S::Refunded, E::CloseConfirmed, std::nullopt},
    {S::Refunded, E::RefundConfirmed, std::nullopt},
};

TEST(StateMachine, EveryPairMatchesTheTable) {
  EXPECT_EQ(std::size(kTable), 20u);  // 5 states x 4 events
  for (const Row& row : kTable) {
    SCOPED_TRACE(std::string(name_of(row.from)) + " + " + std::string(name_of(row.event)));
    auto t = next_transition(row.from, row.event);
    ASSERT_EQ(t.has_value(), row.to.has_value());
    if (t) {
      EXPECT_EQ(t->from, row.from);
      EXPECT_EQ(t->to, *row.to);
      EXPECT_EQ(t->late_payment, row.late);
    }
  }
}

TEST(StateMachine, PayStatusFollowsTheOriginalCodes) {
  EXPECT_EQ(pay_status_of(S::Created), 0);
  EXPECT_EQ(pay_status_of(S::Paid), 1);
  EXPECT_EQ(pay_status_of(S::Delivered), 1);
  EXPECT_EQ(pay_status_of(S::Closed), 3);
  EXPECT_EQ(static_cast<int>(S::Closed), 3);
  EXPECT_EQ(pay_status_of(S::Refunded), 4);
  EXPECT_EQ(static_cast<int>(S::Refunded), 4);
}

TEST(StateMachine, TheLatePaymentPathEndsRefundedWhenThePolicySaysSo) {
  // CLOSED -> PAID (late) -> REFUNDED: the money of a payment we no longer wanted goes back.
  auto paid = next_transition(S::Closed, E::PaymentConfirmed);
  ASSERT_TRUE(paid);
  EXPECT_TRUE(paid->late_payment);
  auto refunded = next_transition(paid->to, E::RefundConfirmed);
  ASSERT_TRUE(refunded);
  EXPECT_EQ(refunded->to, S::Refunded);
  EXPECT_TRUE(is_final(S::Refunded));
}

TEST(StateMachine, StatesParseFromNamesAndNumbers) {
  EXPECT_EQ(parse_order_state("paid"), S::Paid);
  EXPECT_EQ(parse_order_state("CLOSED"), S::Closed);
  EXPECT_EQ(parse_order_state("2"), S::Delivered);
  EXPECT_EQ(parse_order_state("refunded"), S::Refunded);
  EXPECT_EQ(parse_order_state("4"), S::Refunded);
  EXPECT_EQ(parse_order_state("7"), std::nullopt);
  EXPECT_EQ(parse_order_state("payed"), std::nullopt);
}

}  // namespace
}  // namespace chatglmd::core
