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
    {S::Paid, E::PaymentConfirmed, std::nullopt},
    {S::Paid, E::QuotaGranted, S::Delivered},
    {S::Paid, E::CloseConfirmed, std::nullopt},
    {S::Delivered, E::PaymentConfirmed, std::nullopt},
    {S::Delivered, E::QuotaGranted, std::nullopt},
    {S::Delivered, E::CloseConfirmed, std::nullopt},
    {S::Closed, E::PaymentConfirmed, S::Paid, true},
    {S::Closed, E::QuotaGranted, std::nullopt},
    {S::Closed, E::CloseConfirmed, std::nullopt},
};

TEST(StateMachine, EveryPairMatchesTheTable) {
  EXPECT_EQ(std::size(kTable), 12u);  // 4 states x 3 events
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
}

TEST(StateMachine, StatesParseFromNamesAndNumbers) {
  EXPECT_EQ(parse_order_state("paid"), S::Paid);
  EXPECT_EQ(parse_order_state("CLOSED"), S::Closed);
  EXPECT_EQ(parse_order_state("2"), S::Delivered);
  EXPECT_EQ(parse_order_state("7"), std::nullopt);
  EXPECT_EQ(parse_order_state("payed"), std::nullopt);
}

}  // namespace
}  // namespace chatglmd::core
