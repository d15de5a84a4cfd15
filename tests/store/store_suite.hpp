#pragma once
// The store contract as one typed suite. A backend joins by providing a fixture type with
//   static std::unique_ptr<Store> open(const std::string& name)  -- a connection to a fresh store
//   named `name` within the test; calling it again with the same name opens another connection
//   to the same data (for race tests).
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <numeric>
#include <thread>
#include <tuple>

#include "core/order_id.hpp"
#include "core/refund.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"
#include "support/failing_commits.hpp"
#include "support/test_orders.hpp"

namespace chatglmd::store::suite {

using chatglmd::testing::FailingCommits;
using chatglmd::testing::make_order;
using core::Cause;
using core::Fen;
using core::Order;
using core::OrderEvent;
using core::OrderState;
using core::UtcMs;

inline constexpr UtcMs kT0{1'700'000'000'000};

template <typename Backend>
class StoreSuite : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Backend::open("main"); }
  std::unique_ptr<Store> another() { return Backend::open("main"); }
  Store& s() { return *store_; }
  OrderRepository& orders() { return store_->orders(); }

  // Puts an order into `state` through legal transitions only.
  void order_in(const std::string& id, OrderState state, UtcMs at = kT0) {
    ASSERT_TRUE(orders().insert(make_order(id, "user-" + id, at), at));
    if (state == OrderState::Created) return;
    if (state == OrderState::Closed) {
      ASSERT_EQ(orders().apply(id, OrderEvent::CloseConfirmed, Cause::TimeoutClose, "", at).outcome,
                TransitionOutcome::Applied);
      return;
    }
    ASSERT_EQ(orders()
                  .apply(id, OrderEvent::PaymentConfirmed, Cause::Notify, "", at,
                         PaymentFacts{"T" + id, at})
                  .outcome,
              TransitionOutcome::Applied);
    if (state == OrderState::Delivered || state == OrderState::Refunded) {
      ASSERT_EQ(orders().deliver(id, Cause::Delivery, at), DeliveryOutcome::Delivered);
    }
    if (state == OrderState::Refunded) {
      ASSERT_EQ(refunds().request(id, "", Cause::Admin, at, at).outcome,
                RefundRequestOutcome::Requested);
      ASSERT_EQ(refunds().confirm(id, Cause::Admin, "", at), RefundDecision::Applied);
    }
  }
  RefundRepository& refunds() { return store_->refunds(); }

  std::unique_ptr<Store> store_;
};

TYPED_TEST_SUITE_P(StoreSuite);

TYPED_TEST_P(StoreSuite, ProductsAddListEnableDisable) {
  auto& p = this->s().products();
  Product a{2, "B", "second", 100, Fen{1999}, "glm-4", true, 2};
  Product b{1, "A", "first", 50, Fen{999}, "glm-3-turbo,glm-4", true, 1};
  EXPECT_TRUE(p.add(a));
  EXPECT_TRUE(p.add(b));
  EXPECT_FALSE(p.add(b)) << "a product id is unique";
  auto all = p.list(true);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].product_id, 1) << "ordered by sort";
  EXPECT_EQ(all[0].price, Fen{999});
  EXPECT_EQ(all[0].model_types, "glm-3-turbo,glm-4");
  EXPECT_TRUE(p.set_enabled(1, false));
  EXPECT_EQ(p.list(true).size(), 1u);
  EXPECT_EQ(p.list(false).size(), 2u);
  EXPECT_FALSE(p.get(1)->enabled);
  EXPECT_FALSE(p.set_enabled(99, true));
  EXPECT_FALSE(p.get(99).has_value());
}

// The front keeps the catalogue in memory and reads it again when this stamp moves; a change
// from another connection (`product add` in another process) must move it too.
TYPED_TEST_P(StoreSuite, ProductChangesBumpTheirVersion) {
  auto& p = this->s().products();
  auto admin = this->another();
  auto v0 = p.version();
  EXPECT_TRUE(admin->products().add(Product{1, "A", "", 10, Fen{100}, "glm-4", true, 1}));
  auto v1 = p.version();
  EXPECT_GT(v1, v0);
  EXPECT_FALSE(admin->products().add(Product{1, "A", "", 10, Fen{100}, "glm-4", true, 1}));
  EXPECT_FALSE(admin->products().set_enabled(99, false));
  EXPECT_EQ(p.version(), v1) << "no change, no bump";
  EXPECT_TRUE(admin->products().set_enabled(1, false));
  auto snapshot = p.snapshot();
  EXPECT_GT(snapshot.version, v1);
  EXPECT_EQ(snapshot.version, p.version());
  ASSERT_EQ(snapshot.items.size(), 1u) << "disabled products are in the snapshot";
  EXPECT_FALSE(snapshot.items[0].enabled);
  EXPECT_TRUE(admin->products().set_enabled(1, true));
  EXPECT_GT(p.version(), snapshot.version);
}

TYPED_TEST_P(StoreSuite, AccountsGrantConsumeRefundFreeze) {
  auto& a = this->s().accounts();
  EXPECT_FALSE(a.get("u1").has_value());
  a.grant("u1", 2, "glm-4");
  a.grant("u1", 1, "glm-3-turbo,glm-4");
  auto acc = a.get("u1");
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->total_quota, 3);
  EXPECT_EQ(acc->surplus_quota, 3);
  EXPECT_EQ(acc->model_types, "glm-4,glm-3-turbo");
  // Merged lists keep each model once, in first-seen order, without empty items.
  a.grant("u3", 1, ",glm-4,,glm-4,");
  EXPECT_EQ(a.get("u3")->model_types, "glm-4");
  a.grant("u3", 1, "glm-3-turbo,,glm-4,glm-3-turbo,cogview");
  EXPECT_EQ(a.get("u3")->model_types, "glm-4,glm-3-turbo,cogview");
  a.grant("u3", 1, "");
  EXPECT_EQ(a.get("u3")->model_types, "glm-4,glm-3-turbo,cogview");
  EXPECT_EQ(a.consume_one("u1"), Charge::Charged);
  EXPECT_EQ(a.consume_one("u1"), Charge::Charged);
  EXPECT_EQ(a.consume_one("u1"), Charge::Charged);
  EXPECT_EQ(a.consume_one("u1"), Charge::NothingLeft) << "quota never goes below zero";
  a.refund_one("u1");
  EXPECT_EQ(a.get("u1")->surplus_quota, 1);
  EXPECT_EQ(a.consume_one("nobody"), Charge::NothingLeft);
  EXPECT_TRUE(a.set_status("u1", AccountStatus::Frozen));
  EXPECT_EQ(a.get("u1")->status, AccountStatus::Frozen);
  EXPECT_EQ(a.consume_one("u1"), Charge::Frozen) << "a frozen account is never charged";
  EXPECT_EQ(a.get("u1")->surplus_quota, 1);
  EXPECT_TRUE(a.set_status("u1", AccountStatus::Ok));
  EXPECT_EQ(a.consume_one("u1"), Charge::Charged);
  EXPECT_EQ(a.consume_one("u1"), Charge::NothingLeft) << "not frozen, and nothing left";
  EXPECT_FALSE(a.set_status("nobody", AccountStatus::Frozen));
  EXPECT_FALSE(a.create(Account{"u1", 0, 0, "", AccountStatus::Ok}));
  EXPECT_TRUE(a.create(Account{"u2", 5, 5, "glm-4", AccountStatus::Ok}));
}

TYPED_TEST_P(StoreSuite, ConcurrentConsumersNeverOverdraw) {
  this->s().accounts().grant("u", 100, "");
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto conn = this->another();
      for (int i = 0; i < 50; ++i)
        won += conn->accounts().consume_one("u") == Charge::Charged ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(won.load(), 100);
  EXPECT_EQ(this->s().accounts().get("u")->surplus_quota, 0);
}

TYPED_TEST_P(StoreSuite, OrderInsertGetAndUniqueId) {
  auto& o = this->orders();
  EXPECT_TRUE(o.insert(make_order("100000000001", "u1", kT0), kT0));
  EXPECT_FALSE(o.insert(make_order("100000000001", "u2", kT0), kT0));
  auto got = o.get("100000000001");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->openid, "u1");
  EXPECT_EQ(got->state, OrderState::Created);
  EXPECT_EQ(got->amount, Fen{999});
  EXPECT_EQ(got->order_time, kT0);
  EXPECT_FALSE(got->pay_time.has_value());
  auto ev = o.events("100000000001");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(ev[0].from.has_value());
  EXPECT_EQ(ev[0].to, OrderState::Created);
  EXPECT_FALSE(o.get("999999999999").has_value());
}

// Every (state, event) pair through the store: legal ones move and leave one audit row,
// illegal ones are refused and leave none.
TYPED_TEST_P(StoreSuite, EveryStateEventPairThroughTheStore) {
  const OrderState states[] = {OrderState::Created, OrderState::Paid, OrderState::Delivered,
                               OrderState::Closed, OrderState::Refunded};
  const OrderEvent events[] = {OrderEvent::PaymentConfirmed, OrderEvent::QuotaGranted,
                               OrderEvent::CloseConfirmed, OrderEvent::RefundConfirmed};
  int n = 0;
  for (OrderState from : states) {
    for (OrderEvent event : events) {
      std::string id = core::order_id_from(static_cast<std::uint64_t>(++n));
      this->order_in(id, from);
      SCOPED_TRACE(std::string(core::name_of(from)) + " + " + std::string(core::name_of(event)));
      const auto before = this->orders().events(id).size();
      const auto expected = core::next_transition(from, event);
      std::size_t audit_rows = expected ? 1 : 0;
      if (event == OrderEvent::QuotaGranted) {
        auto out = this->orders().deliver(id, Cause::ReplenishShipment, kT0);
        EXPECT_EQ(out == DeliveryOutcome::Delivered, expected.has_value());
      } else if (event == OrderEvent::RefundConfirmed) {
        // A refund is requested (its own audit row), then confirmed (the transition).
        auto r = this->refunds().request(id, "test", Cause::Admin, kT0, kT0);
        EXPECT_EQ(r.outcome == RefundRequestOutcome::Requested, expected.has_value());
        if (expected) {
          EXPECT_EQ(this->refunds().confirm(id, Cause::RefundQuery, "test", kT0),
                    RefundDecision::Applied);
          audit_rows = 2;
        }
      } else {
        auto r =
            this->orders().apply(id, event, Cause::Reconcile, "test", kT0, PaymentFacts{"TN", kT0});
        EXPECT_EQ(r.outcome, expected ? TransitionOutcome::Applied : TransitionOutcome::Refused);
        EXPECT_EQ(r.late_payment, expected && expected->late_payment);
      }
      auto after = this->orders().get(id);
      EXPECT_EQ(after->state, expected ? expected->to : from);
      EXPECT_EQ(this->orders().events(id).size(), before + audit_rows);
    }
  }
}

TYPED_TEST_P(StoreSuite, UnknownOrdersAreReportedNotCreated) {
  auto r = this->orders().apply("100000000009", OrderEvent::CloseConfirmed, Cause::Admin, "", kT0);
  EXPECT_EQ(r.outcome, TransitionOutcome::UnknownOrder);
  EXPECT_EQ(this->orders().deliver("100000000009", Cause::Delivery, kT0),
            DeliveryOutcome::UnknownOrder);
}

TYPED_TEST_P(StoreSuite, PaymentRecordsTradeAndTimeAndDeliveryGrantsOnce) {
  this->order_in("100000000010", OrderState::Created);
  auto paid_at = kT0 + std::chrono::minutes(2);
  auto r = this->orders().apply("100000000010", OrderEvent::PaymentConfirmed, Cause::Notify, "",
                                paid_at, PaymentFacts{"2024TRADE", paid_at});
  ASSERT_EQ(r.outcome, TransitionOutcome::Applied);
  auto o = this->orders().get("100000000010");
  EXPECT_EQ(o->trade_no, "2024TRADE");
  EXPECT_EQ(o->pay_time, paid_at);
  EXPECT_EQ(this->orders().deliver("100000000010", Cause::Delivery, paid_at),
            DeliveryOutcome::Delivered);
  EXPECT_EQ(this->orders().deliver("100000000010", Cause::ReplenishShipment, paid_at),
            DeliveryOutcome::AlreadyDelivered);
  auto acc = this->s().accounts().get("user-100000000010");
  ASSERT_TRUE(acc) << "delivery creates the account";
  EXPECT_EQ(acc->total_quota, 50);
  EXPECT_EQ(acc->model_types, "glm-4");
}

// The notify path's one step from CREATED to DELIVERED leaves what apply then deliver leave:
// the same row, the same audit trail, the same grant; anything not CREATED is left alone.
TYPED_TEST_P(StoreSuite, PayAndDeliverCreatedEqualsApplyThenDeliver) {
  const auto paid_at = kT0 + std::chrono::minutes(2);
  const PaymentFacts facts{"2024TRADE", paid_at};
  this->order_in("100000000011", OrderState::Created);  // one step
  this->order_in("100000000012", OrderState::Created);  // two steps
  // A query of each that failed before the notify: both paths clear the retry columns.
  for (const char* id : {"100000000011", "100000000012"})
    this->orders().record_failure(id, OrderState::Created, "gateway timeout",
                                  kT0 + std::chrono::minutes(5));
  ASSERT_EQ(this->orders().get("100000000011")->attempts, 1);
  auto one = this->orders().pay_and_deliver_created("100000000011", Cause::Notify,
                                                    "trade_no=2024TRADE", paid_at, facts);
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, DeliveryOutcome::Delivered);
  ASSERT_EQ(this->orders()
                .apply("100000000012", OrderEvent::PaymentConfirmed, Cause::Notify,
                       "trade_no=2024TRADE", paid_at, facts)
                .outcome,
            TransitionOutcome::Applied);
  ASSERT_EQ(this->orders().deliver("100000000012", Cause::Notify, paid_at),
            DeliveryOutcome::Delivered);
  auto a = *this->orders().get("100000000011");
  auto b = *this->orders().get("100000000012");
  EXPECT_EQ(a.state, OrderState::Delivered);
  EXPECT_EQ(std::tie(a.state, a.trade_no, a.pay_time, a.attempts, a.next_attempt_at, a.last_error),
            std::tie(b.state, b.trade_no, b.pay_time, b.attempts, b.next_attempt_at, b.last_error));
  EXPECT_EQ(a.attempts, 0) << "the failed query's count cleared";
  EXPECT_EQ(a.last_error, "");
  auto ea = this->orders().events("100000000011");
  auto eb = this->orders().events("100000000012");
  ASSERT_EQ(ea.size(), eb.size());
  for (std::size_t i = 0; i < ea.size(); ++i) {
    EXPECT_EQ(ea[i].from, eb[i].from) << i;
    EXPECT_EQ(ea[i].to, eb[i].to) << i;
    EXPECT_EQ(ea[i].cause, eb[i].cause) << i;
    EXPECT_EQ(ea[i].at, eb[i].at) << i;
  }
  EXPECT_EQ(ea[1].detail, "trade_no=2024TRADE");
  EXPECT_EQ(ea.back().detail, "granted 50 quota to user-100000000011");
  auto acc = this->s().accounts().get("user-100000000011");
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->total_quota, 50);
  EXPECT_EQ(acc->model_types, "glm-4");
  // Not CREATED (any more): nothing happens, the general path decides.
  EXPECT_FALSE(
      this->orders().pay_and_deliver_created("100000000011", Cause::Notify, "", paid_at, facts));
  this->order_in("100000000013", OrderState::Closed);
  EXPECT_FALSE(
      this->orders().pay_and_deliver_created("100000000013", Cause::Notify, "", paid_at, facts));
  EXPECT_EQ(this->orders().get("100000000013")->state, OrderState::Closed);
  EXPECT_FALSE(
      this->orders().pay_and_deliver_created("999999999999", Cause::Notify, "", paid_at, facts));
  EXPECT_EQ(this->s().accounts().get("user-100000000011")->total_quota, 50) << "granted once";
}

// The grant of the notify path's one step merges the order's models into the account's as every
// grant does: each non-empty item once, in the order it first appears (PostgreSQL does it in
// SQL, SQLite in C++; both must agree with AccountsGrantConsumeRefundFreeze's grant).
TYPED_TEST_P(StoreSuite, PayAndDeliverCreatedMergesModelsAsAGrantDoes) {
  const auto paid_at = kT0 + std::chrono::minutes(2);
  auto order = make_order("100000000031", "merger", kT0);
  order.model_types = ",glm-3-turbo,,glm-4v,glm-3-turbo,glm-4";
  ASSERT_TRUE(this->orders().insert(order, kT0));
  this->s().accounts().grant("merger", 5, "glm-4,,glm-4");
  ASSERT_TRUE(this->orders().pay_and_deliver_created(order, Cause::Notify, "", paid_at,
                                                     PaymentFacts{"T31", paid_at}));
  auto acc = this->s().accounts().get("merger");
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->model_types, "glm-4,glm-3-turbo,glm-4v");
  EXPECT_EQ(acc->total_quota, 55);
  EXPECT_EQ(acc->surplus_quota, 55);
  // A new account gets the order's list, cleaned the same way.
  auto fresh = make_order("100000000032", "newcomer", kT0);
  fresh.model_types = "glm-4v,,glm-4v,glm-4,";
  ASSERT_TRUE(this->orders().insert(fresh, kT0));
  ASSERT_TRUE(this->orders().pay_and_deliver_created(fresh, Cause::Notify, "", paid_at,
                                                     PaymentFacts{"T32", paid_at}));
  acc = this->s().accounts().get("newcomer");
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->model_types, "glm-4v,glm-4");
  EXPECT_EQ(acc->total_quota, 50);
  // An account with no models at all takes the order's.
  this->s().accounts().grant("bare", 1, "");
  auto bare = make_order("100000000033", "bare", kT0);
  ASSERT_TRUE(this->orders().insert(bare, kT0));
  ASSERT_TRUE(this->orders().pay_and_deliver_created(bare, Cause::Notify, "", paid_at,
                                                     PaymentFacts{"T33", paid_at}));
  EXPECT_EQ(this->s().accounts().get("bare")->model_types, "glm-4");
  // Items are compared byte for byte: a space, a capital or another form of the same letter
  // (a precomposed and a combining "e" with an acute accent) makes another item.
  this->s().accounts().grant("spaced", 1, "glm-4, glm-4,GLM-4");
  auto spaced = make_order("100000000034", "spaced", kT0);
  spaced.model_types = "GLM-4,\xc3\xa9,e\xcc\x81, glm-4,\xc3\xa9";
  ASSERT_TRUE(this->orders().insert(spaced, kT0));
  ASSERT_TRUE(this->orders().pay_and_deliver_created(spaced, Cause::Notify, "", paid_at,
                                                     PaymentFacts{"T34", paid_at}));
  EXPECT_EQ(this->s().accounts().get("spaced")->model_types,
            "glm-4, glm-4,GLM-4,\xc3\xa9,e\xcc\x81");
}

// The notify path hands over the order it read: the grant is that order's, and a copy read
// before the order moved on (paid meanwhile, or closed) changes nothing: the state is compared
// in the store, not taken from the copy.
TYPED_TEST_P(StoreSuite, PayAndDeliverCreatedOfAnOrderAsReadComparesItsStateInTheStore) {
  const auto paid_at = kT0 + std::chrono::minutes(2);
  const PaymentFacts facts{"2024TRADE", paid_at};
  this->order_in("100000000021", OrderState::Created);
  this->order_in("100000000022", OrderState::Created);
  const auto read = *this->orders().get("100000000021");
  auto first = this->orders().pay_and_deliver_created(read, Cause::Notify, "trade_no=2024TRADE",
                                                      paid_at, facts);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, DeliveryOutcome::Delivered);
  auto o = *this->orders().get("100000000021");
  EXPECT_EQ(o.state, OrderState::Delivered);
  EXPECT_EQ(o.trade_no, "2024TRADE");
  EXPECT_EQ(o.pay_time, paid_at);
  auto events = this->orders().events("100000000021");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].detail, "trade_no=2024TRADE");
  EXPECT_EQ(events[2].detail, "granted 50 quota to user-100000000021");
  // The same copy again: the order is DELIVERED in the store, so nothing happens.
  EXPECT_FALSE(this->orders().pay_and_deliver_created(read, Cause::Notify, "", paid_at, facts));
  // A copy read while CREATED, closed since.
  const auto stale = *this->orders().get("100000000022");
  ASSERT_EQ(this->orders()
                .apply("100000000022", OrderEvent::CloseConfirmed, Cause::TimeoutClose, "", kT0)
                .outcome,
            TransitionOutcome::Applied);
  EXPECT_FALSE(this->orders().pay_and_deliver_created(stale, Cause::Notify, "", paid_at, facts));
  EXPECT_EQ(this->orders().get("100000000022")->state, OrderState::Closed);
  EXPECT_EQ(this->orders().events("100000000021").size(), 3u);
  EXPECT_EQ(this->s().accounts().get("user-100000000021")->total_quota, 50) << "granted once";
  EXPECT_FALSE(this->s().accounts().get("user-100000000022")) << "a closed order grants nothing";
}

TYPED_TEST_P(StoreSuite, TwoConnectionsRacingOnOneTransitionOneWins) {
  for (int round = 0; round < 20; ++round) {
    std::string id = core::order_id_from(static_cast<std::uint64_t>(500 + round));
    this->order_in(id, OrderState::Created);
    auto c1 = this->another();
    auto c2 = this->another();
    TransitionResult r1, r2;
    // One connection confirms the payment while the other closes on timeout.
    std::thread t1([&] {
      r1 = c1->orders().apply(id, OrderEvent::PaymentConfirmed, Cause::Notify, "", kT0,
                              PaymentFacts{"T", kT0});
    });
    std::thread t2([&] {
      r2 = c2->orders().apply(id, OrderEvent::CloseConfirmed, Cause::TimeoutClose, "", kT0);
    });
    t1.join();
    t2.join();
    int applied =
        (r1.outcome == TransitionOutcome::Applied) + (r2.outcome == TransitionOutcome::Applied);
    if (r2.outcome == TransitionOutcome::Applied) {
      // Closed first; the later payment is a late payment and still wins the money back.
      EXPECT_EQ(r1.outcome, TransitionOutcome::Applied);
      EXPECT_TRUE(r1.late_payment);
      EXPECT_EQ(this->orders().get(id)->state, OrderState::Paid);
    } else {
      EXPECT_EQ(applied, 1);
      EXPECT_EQ(r2.outcome, TransitionOutcome::Refused);
      EXPECT_EQ(this->orders().get(id)->state, OrderState::Paid);
    }
    EXPECT_EQ(this->orders().events(id).size(), 1u + static_cast<unsigned>(applied));
  }
}

TYPED_TEST_P(StoreSuite, SameTransitionRacedByManyConnectionsAppliesOnce) {
  this->order_in("100000000020", OrderState::Created);
  std::atomic<int> applied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto conn = this->another();
      for (int i = 0; i < 10; ++i) {
        auto r = conn->orders().apply("100000000020", OrderEvent::CloseConfirmed,
                                      Cause::TimeoutClose, "", kT0);
        applied += r.outcome == TransitionOutcome::Applied;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(applied.load(), 1);
  EXPECT_EQ(this->orders().events("100000000020").size(), 2u);
}

// Several connections (nodes) hand the notify path orders at once, each from a copy read while
// they were CREATED: 10 new users with 8 orders each; connection t pays order t and order t+1 of
// every user, so the 8 connections create each user's account at once through different orders,
// and two of them race on every order. Each order is delivered once, audited 0->1->2, and every
// grant adds up.
TYPED_TEST_P(StoreSuite, PayAndDeliverCreatedRacedByManyConnectionsDeliversEachOrderOnce) {
  const auto paid_at = kT0 + std::chrono::minutes(2);
  constexpr int kUsers = 10, kThreads = 8;
  std::vector<std::vector<Order>> read(kUsers);
  for (int u = 0; u < kUsers; ++u) {
    for (int t = 0; t < kThreads; ++t) {
      auto o = make_order(core::order_id_from(static_cast<std::uint64_t>(7000 + u * kThreads + t)),
                          "racer-" + std::to_string(u), kT0);
      o.model_types = "m" + std::to_string(t);
      ASSERT_TRUE(this->orders().insert(o, kT0));
      read[u].push_back(o);
    }
  }
  std::atomic<int> delivered{0}, refused{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto conn = this->another();
      start.arrive_and_wait();
      for (int u = 0; u < kUsers; ++u) {
        for (int k : {t, (t + 1) % kThreads}) {
          const Order& o = read[u][k];
          auto out = conn->orders().pay_and_deliver_created(
              o, Cause::Notify, "", paid_at, PaymentFacts{"T" + o.order_id, paid_at});
          (out == DeliveryOutcome::Delivered ? delivered : refused)++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(delivered.load(), kUsers * kThreads);
  EXPECT_EQ(refused.load(), kUsers * kThreads);
  for (int u = 0; u < kUsers; ++u) {
    for (const auto& o : read[u]) {
      EXPECT_EQ(this->orders().get(o.order_id)->state, OrderState::Delivered) << o.order_id;
      auto events = this->orders().events(o.order_id);
      ASSERT_EQ(events.size(), 3u) << o.order_id;
      EXPECT_EQ(events[1].from, OrderState::Created) << o.order_id;
      EXPECT_EQ(events[1].to, OrderState::Paid) << o.order_id;
      EXPECT_EQ(events[2].from, OrderState::Paid) << o.order_id;
      EXPECT_EQ(events[2].to, OrderState::Delivered) << o.order_id;
    }
    auto acc = this->s().accounts().get("racer-" + std::to_string(u));
    ASSERT_TRUE(acc) << u;
    EXPECT_EQ(acc->total_quota, kThreads * 50) << u;
    EXPECT_EQ(acc->surplus_quota, kThreads * 50) << u;
    EXPECT_EQ(acc->model_types.size(), std::string("m0,m1,m2,m3,m4,m5,m6,m7").size())
        << acc->model_types;
    for (int m = 0; m < kThreads; ++m)
      EXPECT_NE(acc->model_types.find("m" + std::to_string(m)), std::string::npos)
          << acc->model_types;
  }
}

// Chats charged while the user's payments are delivered (a user chatting on one node while the
// notifies of their new orders reach others): no charge and no grant is lost or made twice. The
// account ends with every order's quota minus the chats that were charged, and a chat is never
// charged beyond what was there.
TYPED_TEST_P(StoreSuite, ChatsChargedWhileDeliveriesArriveLoseNothing) {
  const auto paid_at = kT0 + std::chrono::minutes(2);
  constexpr int kOrders = 24, kQuota = 3;
  std::vector<Order> read;
  for (int i = 0; i < kOrders; ++i) {
    auto o = make_order(core::order_id_from(static_cast<std::uint64_t>(7500 + i)), "chatter", kT0,
                        1001, kQuota);
    ASSERT_TRUE(this->orders().insert(o, kT0));
    read.push_back(o);
  }
  std::atomic<int> charged{0}, delivered{0};
  std::latch start(6);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {  // deliveries, each order raced by two of them
    threads.emplace_back([&, t] {
      auto conn = this->another();
      start.arrive_and_wait();
      for (int i = 0; i < kOrders; ++i) {
        const Order& o = read[static_cast<std::size_t>((i + t * kOrders / 3) % kOrders)];
        delivered += conn->orders().pay_and_deliver_created(
                         o, Cause::Notify, "", paid_at, PaymentFacts{"T" + o.order_id, paid_at}) ==
                     DeliveryOutcome::Delivered;
      }
    });
  }
  for (int t = 0; t < 3; ++t) {  // chats, each charged once or refused
    threads.emplace_back([&] {
      auto conn = this->another();
      start.arrive_and_wait();
      for (int i = 0; i < 30; ++i)
        charged += conn->accounts().consume_one("chatter") == Charge::Charged;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(delivered.load(), kOrders);
  auto acc = this->s().accounts().get("chatter");
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->total_quota, kOrders * kQuota);
  EXPECT_EQ(acc->surplus_quota, kOrders * kQuota - charged.load())
      << charged.load() << " chats charged";
  EXPECT_GE(acc->surplus_quota, 0);
}

// Grants racing on accounts that do not exist yet (deliveries on several nodes): every grant's
// quota and every model is kept, whichever of them creates the account.
TYPED_TEST_P(StoreSuite, GrantsRacingOnANewAccountKeepEveryQuotaAndModel) {
  std::latch start(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto conn = this->another();
      start.arrive_and_wait();
      for (int u = 0; u < 20; ++u)
        conn->accounts().grant("newbie-" + std::to_string(u), 1, "m" + std::to_string(t));
    });
  }
  for (auto& th : threads) th.join();
  for (int u = 0; u < 20; ++u) {
    auto acc = this->s().accounts().get("newbie-" + std::to_string(u));
    ASSERT_TRUE(acc) << u;
    EXPECT_EQ(acc->total_quota, 8) << u;
    EXPECT_EQ(acc->surplus_quota, 8) << u;
    EXPECT_EQ(acc->model_types.size(), std::string("m0,m1,m2,m3,m4,m5,m6,m7").size())
        << acc->model_types;
    for (int m = 0; m < 8; ++m)
      EXPECT_NE(acc->model_types.find("m" + std::to_string(m)), std::string::npos)
          << acc->model_types;
  }
}

TYPED_TEST_P(StoreSuite, AThousandConcurrentDeliveriesGrantOnce) {
  this->order_in("100000000030", OrderState::Paid);
  std::atomic<int> delivered{0}, already{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto conn = this->another();
      for (int i = 0; i < 125; ++i) {
        auto out = conn->orders().deliver("100000000030", Cause::ReplenishShipment, kT0);
        (out == DeliveryOutcome::Delivered ? delivered : already)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(delivered.load(), 1);
  EXPECT_EQ(already.load(), 999);
  auto acc = this->s().accounts().get("user-100000000030");
  EXPECT_EQ(acc->total_quota, 50);
  EXPECT_EQ(acc->surplus_quota, 50);
  EXPECT_EQ(this->orders().events("100000000030").size(), 3u);  // created, paid, delivered
}

TYPED_TEST_P(StoreSuite, DueSelectionHonoursWindowsBackoffAndPaging) {
  using std::chrono::minutes;
  auto& o = this->orders();
  // Orders placed 40, 20, 10 and 0.5 minutes before `now`.
  UtcMs now = kT0 + minutes(60);
  this->order_in("100000000041", OrderState::Created, now - minutes(40));
  this->order_in("100000000042", OrderState::Created, now - minutes(20));
  this->order_in("100000000043", OrderState::Created, now - minutes(10));
  this->order_in("100000000044", OrderState::Created, now - std::chrono::seconds(30));
  this->order_in("100000000045", OrderState::Paid, now - minutes(10));
  // Overdue for closing: placed at or before now-30m.
  auto overdue = o.due_created(UtcMs{0}, now - minutes(30), now, 0, 50);
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].order_id, "100000000041");
  // Reconcile window: older than 1m, not yet overdue.
  auto window =
      o.due_created(now - minutes(30) + std::chrono::milliseconds(1), now - minutes(1), now, 0, 50);
  ASSERT_EQ(window.size(), 2u);
  EXPECT_LT(window[0].id, window[1].id);
  // Paging by id.
  auto page = o.due_created(UtcMs{0}, now, now, window[0].id, 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].order_id, "100000000043");
  // Backoff: a failed attempt hides the order until next_attempt_at.
  o.record_failure("100000000041", OrderState::Created, "gateway timeout", now + minutes(1));
  o.record_failure("100000000045", OrderState::Created, "seen before a notify paid it",
                   now + minutes(9));
  EXPECT_EQ(o.get("100000000045")->attempts, 0) << "the order moved on: no stale error, no delay";
  EXPECT_EQ(o.get("100000000045")->last_error, "");
  EXPECT_TRUE(o.due_created(UtcMs{0}, now - minutes(30), now, 0, 50).empty());
  auto later = o.due_created(UtcMs{0}, now - minutes(30), now + minutes(1), 0, 50);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].attempts, 1);
  EXPECT_EQ(later[0].last_error, "gateway timeout");
  // Paid and not delivered.
  EXPECT_EQ(o.due_paid(now - minutes(3), now, 0, 50).size(), 1u);
  EXPECT_TRUE(o.due_paid(now - minutes(11), now, 0, 50).empty());
  auto backlog = o.backlog_created(UtcMs{0}, now - minutes(1));
  EXPECT_EQ(backlog.count, 3);
  EXPECT_EQ(backlog.oldest, now - minutes(40));
}

TYPED_TEST_P(StoreSuite, ReusableOrderIsTheNewestCreatedForUserAndProduct) {
  auto& o = this->orders();
  ASSERT_TRUE(o.insert(make_order("100000000051", "u", kT0), kT0));
  ASSERT_TRUE(o.insert(make_order("100000000052", "u", kT0 + std::chrono::minutes(1)), kT0));
  ASSERT_TRUE(o.insert(make_order("100000000053", "u", kT0, 2002), kT0));
  EXPECT_EQ(o.find_reusable("u", 1001, kT0)->order_id, "100000000052");
  EXPECT_FALSE(o.find_reusable("u", 1001, kT0 + std::chrono::minutes(2)).has_value());
  EXPECT_FALSE(o.find_reusable("other", 1001, kT0).has_value());
  o.set_pay_info("100000000052", "<form/>", kT0);
  EXPECT_EQ(o.get("100000000052")->pay_info, "<form/>");
}

TYPED_TEST_P(StoreSuite, LeaseIsExclusiveUntilItExpires) {
  auto& j = this->s().jobs();
  auto other = this->another();
  UtcMs t = kT0;
  EXPECT_TRUE(j.try_acquire("reconcile", "a", t, t + std::chrono::minutes(2)));
  EXPECT_FALSE(other->jobs().try_acquire("reconcile", "b", t, t + std::chrono::minutes(2)));
  EXPECT_TRUE(other->jobs().try_acquire("timeout-close", "b", t, t + std::chrono::minutes(2)));
  EXPECT_TRUE(
      j.try_acquire("reconcile", "a", t + std::chrono::minutes(1), t + std::chrono::minutes(3)))
      << "the holder renews";
  EXPECT_FALSE(other->jobs().try_acquire("reconcile", "b", t + std::chrono::minutes(2),
                                         t + std::chrono::minutes(4)));
  EXPECT_TRUE(other->jobs().try_acquire("reconcile", "b", t + std::chrono::minutes(3),
                                        t + std::chrono::minutes(5)))
      << "an expired lease is taken over";
  j.release("reconcile", "a");  // not ours any more: no effect
  EXPECT_FALSE(
      j.try_acquire("reconcile", "a", t + std::chrono::minutes(3), t + std::chrono::minutes(5)));
  other->jobs().release("reconcile", "b");
  EXPECT_TRUE(
      j.try_acquire("reconcile", "a", t + std::chrono::minutes(3), t + std::chrono::minutes(5)));
}

TYPED_TEST_P(StoreSuite, JobRunsAreRecordedNewestFirst) {
  auto& j = this->s().jobs();
  for (int i = 0; i < 3; ++i) {
    j.record_run(JobRunRow{0, "reconcile", "me", kT0, kT0 + std::chrono::seconds(i),
                           i == 2 ? "partial" : "ok", i, i, 0, 0, ""});
  }
  j.record_run(JobRunRow{0, "timeout-close", "me", kT0, kT0, "ok", 0, 0, 0, 0, ""});
  auto h = j.history("reconcile", 10);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].outcome, "partial");
  EXPECT_EQ(j.history("", 10).size(), 4u);
  EXPECT_EQ(j.last_run("timeout-close")->name, "timeout-close");
  EXPECT_FALSE(j.last_run("nothing").has_value());
}

TYPED_TEST_P(StoreSuite, LoginCodesAreSingleUseAndExpire) {
  auto& l = this->s().logins();
  UtcMs t = kT0;
  EXPECT_TRUE(l.save("123456", "u1", t + std::chrono::minutes(3), t));
  EXPECT_FALSE(l.save("123456", "u2", t + std::chrono::minutes(3), t)) << "live for someone else";
  EXPECT_EQ(l.redeem("123456", t + std::chrono::minutes(1)), "u1");
  EXPECT_FALSE(l.redeem("123456", t + std::chrono::minutes(1)).has_value()) << "single use";
  EXPECT_TRUE(l.save("654321", "u1", t + std::chrono::minutes(3), t));
  // A store that several nodes share measures a code's life by its own clock, not the caller's
  // `now` (pg_specific_test shows it).
  if constexpr (!TypeParam::kTimesFromDatabase) {
    EXPECT_FALSE(l.redeem("654321", t + std::chrono::minutes(3)).has_value()) << "expired";
  }
  EXPECT_TRUE(l.save("777777", "u2", t - std::chrono::milliseconds(1), t));
  EXPECT_FALSE(l.redeem("777777", t).has_value()) << "saved already expired";
}

TYPED_TEST_P(StoreSuite, WordsAndWhitelistBumpTheirVersion) {
  auto& w = this->s().words();
  auto v0 = w.version();
  EXPECT_EQ(w.add({"bad", "worse", "bad", ""}, kT0), 2);
  EXPECT_GT(w.version(), v0);
  auto v1 = w.version();
  EXPECT_EQ(w.add({"bad"}, kT0), 0);
  EXPECT_EQ(w.version(), v1) << "no change, no bump";
  EXPECT_EQ(w.list(), (std::vector<std::string>{"bad", "worse"}));
  EXPECT_TRUE(w.remove("bad"));
  EXPECT_FALSE(w.remove("bad"));
  auto& wl = this->s().whitelist();
  auto u0 = wl.version();
  EXPECT_TRUE(wl.add("vip", kT0));
  EXPECT_FALSE(wl.add("vip", kT0));
  EXPECT_GT(wl.version(), u0);
  EXPECT_EQ(wl.list(), std::vector<std::string>{"vip"});
  EXPECT_TRUE(wl.remove("vip"));
  EXPECT_TRUE(wl.list().empty());
}

TYPED_TEST_P(StoreSuite, NotifiesAreKeptOnceByNotifyId) {
  auto& n = this->s().notifies();
  NotifyRecord r{"N1", "100000000001", "TRADE_SUCCESS", "ok", "a=b", kT0};
  EXPECT_EQ(n.save(r), NotifySaveOutcome::Inserted);
  r.raw_body = "changed";
  EXPECT_EQ(n.save(r), NotifySaveOutcome::Duplicate);
  EXPECT_EQ(n.get("N1")->raw_body, "a=b") << "the first body is kept";
  EXPECT_EQ(n.count(), 1);
}

TYPED_TEST_P(StoreSuite, TransactionsComposeAndAFailingPartRollsBackAlone) {
  this->order_in("100000000061", OrderState::Created);
  this->order_in("100000000062", OrderState::Created);
  this->s().in_transaction([&] {
    EXPECT_EQ(this->orders()
                  .apply("100000000061", OrderEvent::CloseConfirmed, Cause::Admin, "", kT0)
                  .outcome,
              TransitionOutcome::Applied);
    EXPECT_THROW(this->s().in_transaction([&] {
      this->orders().apply("100000000062", OrderEvent::CloseConfirmed, Cause::Admin, "", kT0);
      throw std::runtime_error("this part fails");
    }),
                 std::runtime_error);
  });
  EXPECT_EQ(this->orders().get("100000000061")->state, OrderState::Closed);
  EXPECT_EQ(this->orders().get("100000000062")->state, OrderState::Created)
      << "the failed part left nothing";
  EXPECT_EQ(this->orders().events("100000000062").size(), 1u);
  EXPECT_THROW(this->s().in_transaction([&] {
    this->orders().apply("100000000062", OrderEvent::CloseConfirmed, Cause::Admin, "", kT0);
    throw std::runtime_error("all of it fails");
  }),
               std::runtime_error);
  EXPECT_EQ(this->orders().get("100000000062")->state, OrderState::Created);
}

TYPED_TEST_P(StoreSuite, GroupCommitSharesCommitsAndReportsEachUnit) {
  const int n = 200;
  for (int i = 0; i < n; ++i)
    this->order_in(core::order_id_from(static_cast<std::uint64_t>(7000 + i)), OrderState::Created);
  std::atomic<int> ok{0}, failed{0};
  std::uint64_t commits = 0;
  {
    store::GroupCommitter committer(this->s());
    // Hold the committer in its first unit until everything is queued, so the rest must share.
    std::promise<void> all_queued;
    auto queued = all_queued.get_future().share();
    committer.submit([queued] { queued.wait(); }, [](bool) {});
    for (int i = 0; i < n; ++i) {
      std::string id = core::order_id_from(static_cast<std::uint64_t>(7000 + i));
      committer.submit(
          [this, id, i] {
            auto r = this->orders().apply(id, OrderEvent::PaymentConfirmed, Cause::Notify, "", kT0,
                                          PaymentFacts{"T", kT0});
            if (r.outcome != TransitionOutcome::Applied) throw std::runtime_error("not applied");
            if (i % 10 == 0) throw std::runtime_error("this unit fails after its change");
          },
          [&](bool committed) { (committed ? ok : failed)++; });
    }
    all_queued.set_value();
    while (ok + failed < n) std::this_thread::yield();
    commits = committer.commits();
  }
  EXPECT_GE(commits, 1u);
  EXPECT_LE(commits, 2u) << "201 units share at most two commits (the holding one, then the rest)";
  EXPECT_EQ(ok.load(), n - n / 10);
  EXPECT_EQ(failed.load(), n / 10);
  int paid = 0;
  for (int i = 0; i < n; ++i) {
    auto o = this->orders().get(core::order_id_from(static_cast<std::uint64_t>(7000 + i)));
    paid += o->state == OrderState::Paid;
    EXPECT_EQ(o->state, i % 10 == 0 ? OrderState::Created : OrderState::Paid) << i;
  }
  EXPECT_EQ(paid, n - n / 10);
}

// A backlog longer than a batch leaves in batches of at most max_batch units, oldest first, each
// unit run once and answered once.
TYPED_TEST_P(StoreSuite, GroupCommitTakesABacklogInOrderOneBatchLimitAtATime) {
  const int n = 20;
  std::vector<int> ran;  // on the committer thread only
  std::vector<std::atomic<int>> answered(n);
  std::atomic<int> answers{0};
  std::uint64_t commits = 0;
  {
    store::GroupCommitter committer(this->s(), 3);
    std::promise<void> all_queued;
    auto queued = all_queued.get_future().share();
    committer.submit([queued] { queued.wait(); }, [](bool) {});
    for (int i = 0; i < n; ++i) {
      auto work = [&ran, i] { ran.push_back(i); };
      auto done = [&answered, &answers, i](bool committed) {
        EXPECT_TRUE(committed);
        ++answered[i];
        ++answers;
      };
      if (i % 2 == 0) {
        committer.submit(work, done);
      } else {
        committer.submit_until_committed(work, done);
      }
    }
    all_queued.set_value();
    while (answers < n) std::this_thread::yield();
    commits = committer.commits();
  }
  std::vector<int> in_order(n);
  std::iota(in_order.begin(), in_order.end(), 0);
  EXPECT_EQ(ran, in_order);
  for (int i = 0; i < n; ++i) EXPECT_EQ(answered[i].load(), 1) << i;
  // The holding unit and the n behind it, at most 3 to a commit.
  EXPECT_GE(commits, static_cast<std::uint64_t>((n + 1 + 2) / 3)) << "at most 3 units in a commit";
}

// A unit that runs once has its work released before its `done` runs, so `done` can hold the
// last reference to what the unit shares with its submitter and choose the thread that frees
// it (the notify handler frees its request on the io thread it came from).
TYPED_TEST_P(StoreSuite, GroupCommitReleasesAUnitsWorkBeforeItsDone) {
  std::promise<bool> released_before_done;
  {
    store::GroupCommitter committer(this->s());
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> watch = token;
    committer.submit([token = std::move(token)] { ++*token; },
                     [&released_before_done, watch](bool committed) {
                       EXPECT_TRUE(committed);
                       released_before_done.set_value(watch.expired());
                     });
    EXPECT_TRUE(released_before_done.get_future().get());
  }
}

// `done` and the end of run() come only once the change is committed: another connection
// sees nothing of a unit while it runs, and all of it when its `done` runs.
TYPED_TEST_P(StoreSuite, GroupCommitAnswersOnlyAfterTheCommit) {
  this->order_in("100000000081", OrderState::Created);
  this->order_in("100000000082", OrderState::Created);
  auto other = this->another();
  auto state_elsewhere = [&](const std::string& id) { return other->orders().get(id)->state; };
  std::promise<std::pair<OrderState, OrderState>> seen;  // during the unit, in its done
  {
    store::GroupCommitter committer(this->s());
    OrderState during = OrderState::Paid;
    committer.submit(
        [&] {
          this->orders().apply("100000000081", OrderEvent::PaymentConfirmed, Cause::Notify, "", kT0,
                               PaymentFacts{"T81", kT0});
          during = state_elsewhere("100000000081");
        },
        [&](bool committed) {
          EXPECT_TRUE(committed);
          seen.set_value({during, state_elsewhere("100000000081")});
        });
    auto [in_unit, in_done] = seen.get_future().get();
    EXPECT_EQ(in_unit, OrderState::Created) << "not visible before the commit";
    EXPECT_EQ(in_done, OrderState::Paid) << "done runs after the commit";

    committer.run([&] {
      this->orders().apply("100000000082", OrderEvent::CloseConfirmed, Cause::Admin, "", kT0);
      EXPECT_EQ(state_elsewhere("100000000082"), OrderState::Created);
    });
    EXPECT_EQ(state_elsewhere("100000000082"), OrderState::Closed) << "run() returns after it";
    // A unit that throws: run() rethrows it and nothing of the unit is kept.
    EXPECT_THROW(committer.run([&] {
      this->orders().apply("100000000081", OrderEvent::QuotaGranted, Cause::Delivery, "", kT0);
      throw std::invalid_argument("the unit's own error");
    }),
                 std::invalid_argument);
    EXPECT_EQ(state_elsewhere("100000000081"), OrderState::Paid);
    EXPECT_EQ(committer.units(), 2u);
  }
}

TYPED_TEST_P(StoreSuite, GroupCommitThatFailsToCommitFailsEveryUnitOfTheBatch) {
  const int n = 20;
  auto id_of = [](int i) { return core::order_id_from(static_cast<std::uint64_t>(8000 + i)); };
  for (int i = 0; i < n; ++i) this->order_in(id_of(i), OrderState::Created);
  FailingCommits failing(this->s(), [](int batch) { return batch == 2; });
  std::atomic<int> ok{0}, failed{0};
  {
    store::GroupCommitter committer(failing);
    // Batch 1 is a holder alone; the n units queue behind it and form batch 2, which fails.
    std::promise<void> holding, release;
    auto released = release.get_future().share();
    std::promise<bool> holder_done;
    committer.submit(
        [&holding, released] {
          holding.set_value();
          released.wait();
        },
        [&holder_done](bool c) { holder_done.set_value(c); });
    holding.get_future().wait();
    for (int i = 0; i < n; ++i) {
      committer.submit(
          [this, id = id_of(i)] {
            this->orders().apply(id, OrderEvent::CloseConfirmed, Cause::Admin, "", kT0);
          },
          [&](bool committed) { (committed ? ok : failed)++; });
    }
    release.set_value();
    EXPECT_TRUE(holder_done.get_future().get());
    while (ok + failed < n) std::this_thread::yield();
    EXPECT_EQ(failed.load(), n) << "every unit of the batch whose COMMIT failed hears false";
    EXPECT_EQ(committer.commits(), 1u);
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(this->orders().get(id_of(i))->state, OrderState::Created) << "nothing kept";
    // The next batch commits again; run() reports a failed commit as an exception.
    committer.run(
        [&] { this->orders().apply(id_of(0), OrderEvent::CloseConfirmed, Cause::Admin, "", kT0); });
  }
  EXPECT_EQ(this->orders().get(id_of(0))->state, OrderState::Closed);
}

// A write that must not be lost (a chat given back) is tried again while the store fails it, is
// answered once it commits, and is made once; one still failing when the committer stops hears
// false after a last try.
TYPED_TEST_P(StoreSuite, GroupCommitTriesAWriteThatMustNotBeLostAgainUntilItCommitsOnce) {
  auto& a = this->s().accounts();
  a.grant("giver", 1, "");
  ASSERT_EQ(a.consume_one("giver"), Charge::Charged);
  std::atomic<bool> broken{true};
  std::atomic<int> batches{0};
  FailingCommits failing(this->s(), [&](int) {
    ++batches;
    return broken.load();
  });
  std::atomic<int> answers{0};
  std::promise<bool> given_back, plain;
  {
    store::GroupCommitter committer(failing);
    committer.submit_until_committed([&] { failing.accounts().refund_one("giver"); },
                                     [&](bool committed) {
                                       if (answers++ == 0) given_back.set_value(committed);
                                     });
    committer.submit([] {}, [&](bool committed) { plain.set_value(committed); });
    EXPECT_FALSE(plain.get_future().get()) << "an ordinary unit fails with its commit";
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (batches < 3 && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
    ASSERT_GE(batches.load(), 3) << "tried again after failed commits";
    EXPECT_EQ(answers.load(), 0) << "not answered while it fails";
    EXPECT_EQ(a.get("giver")->surplus_quota, 0);
    broken = false;
    EXPECT_TRUE(given_back.get_future().get());
  }
  EXPECT_EQ(answers.load(), 1);
  EXPECT_EQ(a.get("giver")->surplus_quota, 1) << "given back once, however many tries";

  broken = true;
  std::atomic<int> last{-1};
  {
    store::GroupCommitter committer(failing);
    committer.submit_until_committed([&] { failing.accounts().refund_one("giver"); },
                                     [&](bool committed) { last = committed ? 1 : 0; });
  }  // stops while the store still fails: one last try, then false
  EXPECT_EQ(last.load(), 0);
  EXPECT_EQ(a.get("giver")->surplus_quota, 1);
}

TYPED_TEST_P(StoreSuite, CloseFollowupsAreDueFromTimeExpireUntilFinished) {
  this->order_in("100000000040", OrderState::Closed);
  this->order_in("100000000041", OrderState::Closed);
  this->order_in("100000000042", OrderState::Closed);
  auto& o = this->orders();
  const UtcMs expire = kT0 + std::chrono::minutes(30);
  o.add_close_followup("100000000040", expire, kT0);
  o.add_close_followup("100000000040", expire + std::chrono::hours(1), kT0);  // changes nothing
  o.add_close_followup("100000000042", expire + std::chrono::minutes(1), kT0);
  auto f = o.close_followup("100000000040");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->time_expire, expire);
  EXPECT_EQ(f->next_query_at, expire);
  EXPECT_EQ(f->closed_at, kT0);
  EXPECT_EQ(f->queries_done, 0);
  EXPECT_TRUE(f->pending);
  EXPECT_FALSE(o.close_followup("100000000041")) << "no follow-up unless one was added";

  auto ids = [&](UtcMs due_until, UtcMs now, std::int64_t after_id = 0, int limit = 10) {
    std::vector<std::string> out;
    for (const auto& order : o.due_close_followups(due_until, now, after_id, limit))
      out.push_back(order.order_id);
    return out;
  };
  const UtcMs later = expire + std::chrono::hours(1);
  EXPECT_TRUE(ids(expire - std::chrono::milliseconds(1), later).empty());
  EXPECT_EQ(ids(expire, later), std::vector<std::string>{"100000000040"});
  EXPECT_EQ(ids(later, later), (std::vector<std::string>{"100000000040", "100000000042"}));
  EXPECT_EQ(o.backlog_close_followups(later).count, 2);
  EXPECT_EQ(o.backlog_close_followups(later).oldest, expire);
  // Paging by id, as the runner pages.
  const auto first = o.due_close_followups(later, later, 0, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(ids(later, later, first[0].id), std::vector<std::string>{"100000000042"});

  // An unclear answer's backoff on the order holds the follow-up back; a clear answer clears it.
  o.record_failure("100000000040", OrderState::Closed, "timeout", later + std::chrono::minutes(1));
  EXPECT_EQ(ids(later, later), std::vector<std::string>{"100000000042"});
  o.record_close_followup("100000000040", "TRADE_NOT_EXIST", later + std::chrono::hours(24));
  f = o.close_followup("100000000040");
  EXPECT_EQ(f->queries_done, 1);
  EXPECT_EQ(f->next_query_at, later + std::chrono::hours(24));
  EXPECT_EQ(f->last_answer, "TRADE_NOT_EXIST");
  EXPECT_EQ(o.get("100000000040")->attempts, 0);
  EXPECT_EQ(ids(later + std::chrono::hours(24), later + std::chrono::hours(24)),
            (std::vector<std::string>{"100000000040", "100000000042"}));

  o.record_close_followup("100000000040", "paid", std::nullopt);
  f = o.close_followup("100000000040");
  EXPECT_FALSE(f->pending);
  EXPECT_EQ(f->queries_done, 2);
  EXPECT_EQ(ids(later + std::chrono::hours(48), later + std::chrono::hours(48)),
            std::vector<std::string>{"100000000042"});
  EXPECT_EQ(o.backlog_close_followups(later + std::chrono::hours(48)).count, 1);
}

TYPED_TEST_P(StoreSuite, RefundRevokesWhatIsLeftOfTheQuotaAndConfirmsOnce) {
  this->order_in("100000000070", OrderState::Delivered);
  auto& acc = this->s().accounts();
  const std::string user = "user-100000000070";
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(acc.consume_one(user), Charge::Charged);  // 20 of 50 chats spent
  acc.grant(user, 100, "");                             // another purchase
  auto r = this->refunds().request("100000000070", "complaint", Cause::Admin, kT0,
                                   kT0 + std::chrono::minutes(1));
  ASSERT_EQ(r.outcome, RefundRequestOutcome::Requested);
  ASSERT_TRUE(r.refund);
  EXPECT_EQ(r.refund->refund_id, core::refund_request_no("100000000070"));
  EXPECT_EQ(r.refund->amount, Fen{999});
  EXPECT_EQ(r.refund->status, core::RefundStatus::Requested);
  EXPECT_EQ(r.refund->quota_revoked, 50) << "the order's whole quota was still there";
  EXPECT_EQ(r.refund->reason, "complaint");
  EXPECT_EQ(acc.get(user)->surplus_quota, 80);
  EXPECT_EQ(acc.get(user)->total_quota, 100) << "what was spent stays spent";
  EXPECT_EQ(this->orders().get("100000000070")->state, OrderState::Delivered)
      << "REFUNDED only once Alipay confirms";
  EXPECT_EQ(this->refunds().confirm("100000000070", Cause::Admin, "fund_change=Y", kT0),
            RefundDecision::Applied);
  EXPECT_EQ(this->refunds().confirm("100000000070", Cause::RefundQuery, "again", kT0),
            RefundDecision::AlreadyDecided);
  EXPECT_EQ(this->refunds().fail("100000000070", Cause::RefundQuery, "late", kT0),
            RefundDecision::AlreadyDecided)
      << "a decided refund stays decided";
  auto o = this->orders().get("100000000070");
  EXPECT_EQ(o->state, OrderState::Refunded);
  EXPECT_EQ(acc.get(user)->surplus_quota, 80);
  auto got = this->refunds().get("100000000070");
  EXPECT_EQ(got->status, core::RefundStatus::Succeeded);
  EXPECT_EQ(got->decided_at, kT0);
  auto ev = this->orders().events("100000000070");
  ASSERT_EQ(ev.size(), 5u);  // created, paid, delivered, refund requested, refunded
  EXPECT_EQ(ev[3].from, OrderState::Delivered);
  EXPECT_EQ(ev[3].to, OrderState::Delivered);
  EXPECT_EQ(ev[4].to, OrderState::Refunded);
  EXPECT_EQ(this->orders().list(OrderFilter{OrderState::Refunded, std::nullopt, 10}).size(), 1u);
}

TYPED_TEST_P(StoreSuite, RefundTakesBackOnlyWhatWasNotSpent) {
  this->order_in("100000000071", OrderState::Delivered);
  const std::string user = "user-100000000071";
  for (int i = 0; i < 30; ++i) ASSERT_EQ(this->s().accounts().consume_one(user), Charge::Charged);
  auto r = this->refunds().request("100000000071", "", Cause::Admin, kT0, kT0);
  EXPECT_EQ(r.refund->quota_revoked, 20);
  auto a = this->s().accounts().get(user);
  EXPECT_EQ(a->surplus_quota, 0);
  EXPECT_EQ(a->total_quota, 30);
  EXPECT_EQ(this->s().accounts().consume_one(user), Charge::NothingLeft);
}

TYPED_TEST_P(StoreSuite, AFailedRefundGivesTheQuotaBackOnce) {
  this->order_in("100000000072", OrderState::Delivered);
  const std::string user = "user-100000000072";
  for (int i = 0; i < 10; ++i) ASSERT_EQ(this->s().accounts().consume_one(user), Charge::Charged);
  ASSERT_EQ(this->refunds().request("100000000072", "", Cause::Admin, kT0, kT0).outcome,
            RefundRequestOutcome::Requested);
  EXPECT_EQ(this->s().accounts().get(user)->surplus_quota, 0);
  EXPECT_EQ(this->refunds().fail("100000000072", Cause::Admin, "ACQ.TRADE_HAS_FINISHED", kT0),
            RefundDecision::Applied);
  EXPECT_EQ(this->refunds().fail("100000000072", Cause::Admin, "again", kT0),
            RefundDecision::AlreadyDecided);
  auto a = this->s().accounts().get(user);
  EXPECT_EQ(a->surplus_quota, 40);
  EXPECT_EQ(a->total_quota, 50);
  EXPECT_EQ(this->orders().get("100000000072")->state, OrderState::Delivered);
  auto f = this->refunds().get("100000000072");
  EXPECT_EQ(f->status, core::RefundStatus::Failed);
  EXPECT_EQ(f->last_error, "ACQ.TRADE_HAS_FINISHED");
  EXPECT_EQ(this->refunds().request("100000000072", "", Cause::Admin, kT0, kT0).outcome,
            RefundRequestOutcome::AlreadyRequested)
      << "one refund per order, also after a failed one";
  EXPECT_EQ(this->refunds().count(core::RefundStatus::Failed), 1);
}

// Money that moved after the refund was recorded failed (and its quota given back) is the one
// outcome the books cannot absorb: confirm() says so instead of "already decided".
TYPED_TEST_P(StoreSuite, ARefundConfirmedAfterItFailedIsFlaggedNotSwallowed) {
  this->order_in("100000000076", OrderState::Delivered);
  ASSERT_EQ(this->refunds().request("100000000076", "", Cause::Admin, kT0, kT0).outcome,
            RefundRequestOutcome::Requested);
  ASSERT_EQ(this->refunds().fail("100000000076", Cause::Admin, "ACQ.TRADE_HAS_FINISHED", kT0),
            RefundDecision::Applied);
  const auto events = this->orders().events("100000000076").size();
  EXPECT_EQ(this->refunds().confirm("100000000076", Cause::RefundQuery, "REFUND_SUCCESS", kT0),
            RefundDecision::ConfirmedAfterFailure);
  auto ev = this->orders().events("100000000076");
  ASSERT_EQ(ev.size(), events + 1) << "the audit trail records the money that left";
  EXPECT_NE(ev.back().detail.find("after it was recorded failed"), std::string::npos);
  EXPECT_EQ(ev.back().to, OrderState::Delivered);
  EXPECT_EQ(this->refunds().get("100000000076")->status, core::RefundStatus::Failed);
  EXPECT_EQ(this->s().accounts().get("user-100000000076")->surplus_quota, 50)
      << "nothing is taken back behind the operator's back";
}

TYPED_TEST_P(StoreSuite, OnlyPaidOrDeliveredOrdersCanBeRefunded) {
  this->order_in("100000000073", OrderState::Created);
  this->order_in("100000000074", OrderState::Closed);
  this->order_in("100000000075", OrderState::Refunded);
  EXPECT_EQ(this->refunds().request("100000000073", "", Cause::Admin, kT0, kT0).outcome,
            RefundRequestOutcome::NotRefundable);
  EXPECT_EQ(this->refunds().request("100000000074", "", Cause::Admin, kT0, kT0).outcome,
            RefundRequestOutcome::NotRefundable);
  auto again = this->refunds().request("100000000075", "", Cause::Admin, kT0, kT0);
  EXPECT_EQ(again.outcome, RefundRequestOutcome::AlreadyRequested);
  EXPECT_EQ(again.state, OrderState::Refunded);
  EXPECT_EQ(this->refunds().request("999999999999", "", Cause::Admin, kT0, kT0).outcome,
            RefundRequestOutcome::UnknownOrder);
  EXPECT_FALSE(this->refunds().get("100000000073"));
  EXPECT_EQ(this->refunds().confirm("100000000073", Cause::Admin, "", kT0),
            RefundDecision::UnknownRefund);
  EXPECT_EQ(this->orders().events("100000000073").size(), 1u) << "a refusal leaves no trace";
}

TYPED_TEST_P(StoreSuite, ManyConnectionsRequestingOneRefundMakeOne) {
  this->order_in("100000000076", OrderState::Delivered);
  std::atomic<int> requested{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto conn = this->another();
      for (int i = 0; i < 10; ++i) {
        auto r = conn->refunds().request("100000000076", "", Cause::Admin, kT0, kT0);
        requested += r.outcome == RefundRequestOutcome::Requested;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(requested.load(), 1);
  EXPECT_EQ(this->s().accounts().get("user-100000000076")->surplus_quota, 0)
      << "revoked once, not eight times";
  EXPECT_EQ(this->refunds().get("100000000076")->quota_revoked, 50);
}

TYPED_TEST_P(StoreSuite, ARefundRacingChatsNeverTakesMoreThanWasLeft) {
  for (int round = 0; round < 10; ++round) {
    std::string id = core::order_id_from(static_cast<std::uint64_t>(800 + round));
    this->order_in(id, OrderState::Delivered);
    const std::string user = "user-" + id;
    std::atomic<int> chats{0};
    RefundRequestResult r;
    std::thread chatting([&] {
      auto conn = this->another();
      for (int i = 0; i < 60; ++i)
        chats += conn->accounts().consume_one(user) == Charge::Charged ? 1 : 0;
    });
    std::thread refunding([&] {
      auto conn = this->another();
      r = conn->refunds().request(id, "", Cause::Admin, kT0, kT0);
    });
    chatting.join();
    refunding.join();
    ASSERT_EQ(r.outcome, RefundRequestOutcome::Requested);
    // Every chat of the order was either spent or taken back, never both, never neither.
    EXPECT_EQ(chats.load() + r.refund->quota_revoked, 50);
    EXPECT_EQ(this->s().accounts().get(user)->surplus_quota, 0);
  }
}

TYPED_TEST_P(StoreSuite, DeliveryWaitsWhileARefundOfThePaidOrderIsUnderWay) {
  this->order_in("100000000077", OrderState::Paid);
  auto r = this->refunds().request("100000000077", "late payment", Cause::LatePayment, kT0, kT0);
  ASSERT_EQ(r.outcome, RefundRequestOutcome::Requested);
  EXPECT_EQ(r.refund->quota_revoked, 0) << "nothing was granted yet";
  EXPECT_EQ(this->orders().deliver("100000000077", Cause::ReplenishShipment, kT0),
            DeliveryOutcome::RefundPending);
  EXPECT_FALSE(this->s().accounts().get("user-100000000077"));
  this->refunds().fail("100000000077", Cause::RefundQuery, "ACQ.TRADE_HAS_FINISHED", kT0);
  EXPECT_EQ(this->orders().deliver("100000000077", Cause::ReplenishShipment, kT0),
            DeliveryOutcome::Delivered)
      << "the money stayed with us: deliver";
  this->order_in("100000000078", OrderState::Paid);
  this->refunds().request("100000000078", "", Cause::LatePayment, kT0, kT0);
  EXPECT_EQ(this->refunds().confirm("100000000078", Cause::RefundQuery, "", kT0),
            RefundDecision::Applied);
  EXPECT_EQ(this->orders().get("100000000078")->state, OrderState::Refunded);
  EXPECT_EQ(this->orders().deliver("100000000078", Cause::ReplenishShipment, kT0),
            DeliveryOutcome::NotPaid);
}

TYPED_TEST_P(StoreSuite, DueRefundsHonourAgeBackoffAndPaging) {
  using std::chrono::minutes;
  const UtcMs now = kT0 + minutes(60);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(core::order_id_from(static_cast<std::uint64_t>(900 + i)));
    this->order_in(ids.back(), OrderState::Delivered);
  }
  this->refunds().request(ids[0], "", Cause::Admin, now - minutes(10), now - minutes(10));
  this->refunds().request(ids[1], "", Cause::Admin, now - minutes(5), now - minutes(5));
  this->refunds().request(ids[2], "", Cause::Admin, now, now);  // just asked: still in flight
  this->refunds().request(ids[3], "", Cause::Admin, now - minutes(5), now - minutes(5));
  this->refunds().confirm(ids[3], Cause::Admin, "", now);  // decided: never due
  auto due = this->refunds().due(now - minutes(1), now, 0, 50);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].order_id, ids[0]);
  EXPECT_LT(due[0].id, due[1].id);
  EXPECT_EQ(this->refunds().due(now - minutes(1), now, due[0].id, 50).size(), 1u);
  this->refunds().record_failure(ids[0], "timeout", now + minutes(1));
  auto later = this->refunds().due(now - minutes(1), now, 0, 50);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].order_id, ids[1]);
  auto failed = this->refunds().get(ids[0]);
  EXPECT_EQ(failed->attempts, 1);
  EXPECT_EQ(failed->last_error, "timeout");
  EXPECT_EQ(this->refunds().due(now - minutes(1), now + minutes(1), 0, 50).size(), 2u);
  this->refunds().record_failure(ids[3], "after the decision", now + minutes(9));
  EXPECT_EQ(this->refunds().get(ids[3])->attempts, 0) << "a decided refund keeps no error";
  auto backlog = this->refunds().backlog(now);
  EXPECT_EQ(backlog.count, 3);
  EXPECT_EQ(backlog.oldest, now - minutes(10));
}

// 2023-11-15 16:00:00 UTC: midnight of 2023-11-16 in Beijing, where report days begin.
inline constexpr UtcMs kBeijingMidnight{1'700'064'000'000};

inline ChatLogEntry chat_row(const std::string& openid, const std::string& model, UtcMs at,
                             const std::string& outcome, std::optional<std::int64_t> ttft,
                             std::optional<std::int64_t> prompt = std::nullopt,
                             std::optional<std::int64_t> completion = std::nullopt) {
  return {openid, model, "original", at, ttft, 500, prompt, completion, outcome};
}

TYPED_TEST_P(StoreSuite, ChatLogSumsChatsByBeijingDayModelAndUser) {
  using std::chrono::hours;
  using std::chrono::minutes;
  auto& log = this->s().chat_log();
  log.append(chat_row("u1", "glm-4", kBeijingMidnight - minutes(1), "ok", 100, 10, 20));
  log.append(chat_row("u1", "glm-4", kBeijingMidnight - hours(2), "cancelled", std::nullopt));
  log.append(chat_row("u2", "glm-3-turbo", kBeijingMidnight, "refused:quota", std::nullopt));
  log.append(chat_row("u2", "glm-4", kBeijingMidnight + hours(3), "ok", 300, 5, 7));
  log.append(chat_row("u3", "glm-4", kBeijingMidnight - hours(30), "ok", 50, 1, 1));  // too old

  UsageQuery q;
  q.since = kBeijingMidnight - hours(24);
  auto days = log.usage(q);
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].key, "2023-11-15") << "a minute before Beijing midnight";
  EXPECT_EQ(days[0].chats, 2);
  EXPECT_EQ(days[0].answered, 1);
  EXPECT_EQ(days[0].prompt_tokens, 10) << "a chat without usage adds nothing";
  EXPECT_EQ(days[0].completion_tokens, 20);
  EXPECT_EQ(days[1].key, "2023-11-16");
  EXPECT_EQ(days[1].chats, 2);
  EXPECT_EQ(days[1].answered, 1);
  EXPECT_EQ(days[1].completion_tokens, 7);

  q.by = UsageGrouping::Model;
  auto models = log.usage(q);
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].key, "glm-3-turbo");
  EXPECT_EQ(models[1].key, "glm-4");
  EXPECT_EQ(models[1].chats, 3);

  q.by = UsageGrouping::User;
  auto users = log.usage(q);
  ASSERT_EQ(users.size(), 2u) << "u3 chatted before `since`";
  EXPECT_EQ(users[0].key, "u1");
  EXPECT_EQ(users[1].key, "u2");
  q.limit = 1;
  EXPECT_EQ(log.usage(q).size(), 1u);

  q = UsageQuery{};
  q.since = kBeijingMidnight - hours(24);
  q.openid = "u2";
  q.by = UsageGrouping::DayModel;
  auto mine = log.usage(q);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].key, "2023-11-16");
  EXPECT_EQ(mine[0].model, "glm-3-turbo");
  EXPECT_EQ(mine[1].model, "glm-4");

  EXPECT_EQ(log.first_token_times(kBeijingMidnight - hours(24), 100),
            (std::vector<std::int64_t>{100, 300}))
      << "answered chats only, ascending";
  EXPECT_EQ(log.first_token_times(kBeijingMidnight - hours(24), 1),
            (std::vector<std::int64_t>{300}))
      << "the newest when limited";
}

TYPED_TEST_P(StoreSuite, ChatLogPrunesTheOldestRowsInChunks) {
  using std::chrono::minutes;
  auto& log = this->s().chat_log();
  for (int i = 0; i < 5; ++i) log.append(chat_row("u", "glm-4", kT0 + minutes(i), "ok", 10));
  auto backlog = log.backlog(kT0 + minutes(3));
  EXPECT_EQ(backlog.count, 3);
  EXPECT_EQ(backlog.oldest, kT0);
  EXPECT_EQ(log.prune(kT0 + minutes(3), 2), 2);
  backlog = log.backlog(kT0 + minutes(3));
  EXPECT_EQ(backlog.count, 1);
  EXPECT_EQ(backlog.oldest, kT0 + minutes(2)) << "the oldest went first";
  EXPECT_EQ(log.prune(kT0 + minutes(3), 2), 1);
  EXPECT_EQ(log.prune(kT0 + minutes(3), 2), 0);
  EXPECT_EQ(log.backlog(kT0 + minutes(3)).count, 0);
  EXPECT_FALSE(log.backlog(kT0 + minutes(3)).oldest.has_value());
  UsageQuery q;
  q.since = kT0;
  ASSERT_EQ(log.usage(q).size(), 1u);
  EXPECT_EQ(log.usage(q)[0].chats, 2) << "newer rows are kept";
}

TYPED_TEST_P(StoreSuite, ReportsSumPaymentsPerDayAndTheOrderFunnel) {
  using std::chrono::hours;
  const UtcMs day1 = kBeijingMidnight - hours(2);
  const UtcMs day2 = kBeijingMidnight + hours(2);
  this->order_in("300000000001", OrderState::Delivered, day1);
  this->order_in("300000000002", OrderState::Delivered, day2);
  this->order_in("300000000003", OrderState::Paid, day2);
  this->order_in("300000000004", OrderState::Created, day2);
  this->order_in("300000000005", OrderState::Closed, day2);
  this->order_in("300000000006", OrderState::Refunded, day2);
  this->order_in("300000000007", OrderState::Closed, day2);
  ASSERT_EQ(this->orders()
                .apply("300000000007", OrderEvent::PaymentConfirmed, Cause::Notify, "", day2,
                       PaymentFacts{"T7", day2})
                .late_payment,
            true);
  this->order_in("300000000008", OrderState::Delivered, kBeijingMidnight - hours(48));  // old

  auto& r = this->s().reports();
  auto paid = r.paid_by_day(kBeijingMidnight - hours(24));
  ASSERT_EQ(paid.size(), 2u);
  EXPECT_EQ(paid[0].day, "2023-11-15");
  EXPECT_EQ(paid[0].orders, 1);
  EXPECT_EQ(paid[0].amount, Fen{999});
  EXPECT_EQ(paid[1].day, "2023-11-16");
  EXPECT_EQ(paid[1].orders, 3) << "delivered, paid and the late payment; refunded is no revenue";
  EXPECT_EQ(paid[1].amount, Fen{3 * 999});

  auto f = r.funnel(kBeijingMidnight - hours(24));
  EXPECT_EQ(f.created, 7);
  EXPECT_EQ(f.paid, 5);
  EXPECT_EQ(f.delivered, 2);
  EXPECT_EQ(f.closed, 1);
  EXPECT_EQ(f.late_payments, 1);
  EXPECT_EQ(f.refunds_requested, 1);
  EXPECT_EQ(f.refunded, 1);
}

TYPED_TEST_P(StoreSuite, ReportsListRejectedNotifiesNewestFirst) {
  using std::chrono::minutes;
  auto& n = this->s().notifies();
  n.save({"n1", "300000000001", "TRADE_SUCCESS", "ok", "a=1", kT0});
  n.save(
      {"n2", "300000000002", "TRADE_SUCCESS", "wrong_amount", "secret-ish body", kT0 + minutes(1)});
  n.save({"n3", "300000000003", "TRADE_SUCCESS", "bad_signature", "b", kT0 + minutes(2)});
  auto rejected = this->s().reports().rejected_notifies(10);
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].notify_id, "n3");
  EXPECT_EQ(rejected[1].verdict, "wrong_amount");
  EXPECT_EQ(rejected[1].raw_body, "") << "bodies stay in the store";
  EXPECT_EQ(this->s().reports().rejected_notifies(1).size(), 1u);
}

REGISTER_TYPED_TEST_SUITE_P(
    StoreSuite, TransactionsComposeAndAFailingPartRollsBackAlone,
    GroupCommitSharesCommitsAndReportsEachUnit, GroupCommitAnswersOnlyAfterTheCommit,
    GroupCommitReleasesAUnitsWorkBeforeItsDone, GroupCommitTakesABacklogInOrderOneBatchLimitAtATime,
    GroupCommitThatFailsToCommitFailsEveryUnitOfTheBatch,
    GroupCommitTriesAWriteThatMustNotBeLostAgainUntilItCommitsOnce, ProductsAddListEnableDisable,
    ProductChangesBumpTheirVersion, AccountsGrantConsumeRefundFreeze,
    ConcurrentConsumersNeverOverdraw, OrderInsertGetAndUniqueId, EveryStateEventPairThroughTheStore,
    UnknownOrdersAreReportedNotCreated, PaymentRecordsTradeAndTimeAndDeliveryGrantsOnce,
    PayAndDeliverCreatedEqualsApplyThenDeliver,
    PayAndDeliverCreatedOfAnOrderAsReadComparesItsStateInTheStore,
    PayAndDeliverCreatedMergesModelsAsAGrantDoes,
    PayAndDeliverCreatedRacedByManyConnectionsDeliversEachOrderOnce,
    GrantsRacingOnANewAccountKeepEveryQuotaAndModel, ChatsChargedWhileDeliveriesArriveLoseNothing,
    TwoConnectionsRacingOnOneTransitionOneWins, SameTransitionRacedByManyConnectionsAppliesOnce,
    AThousandConcurrentDeliveriesGrantOnce, DueSelectionHonoursWindowsBackoffAndPaging,
    ReusableOrderIsTheNewestCreatedForUserAndProduct, LeaseIsExclusiveUntilItExpires,
    JobRunsAreRecordedNewestFirst, LoginCodesAreSingleUseAndExpire,
    WordsAndWhitelistBumpTheirVersion, NotifiesAreKeptOnceByNotifyId,
    CloseFollowupsAreDueFromTimeExpireUntilFinished,
    RefundRevokesWhatIsLeftOfTheQuotaAndConfirmsOnce, RefundTakesBackOnlyWhatWasNotSpent,
    AFailedRefundGivesTheQuotaBackOnce, ARefundConfirmedAfterItFailedIsFlaggedNotSwallowed,
    OnlyPaidOrDeliveredOrdersCanBeRefunded, ManyConnectionsRequestingOneRefundMakeOne,
    ARefundRacingChatsNeverTakesMoreThanWasLeft, DeliveryWaitsWhileARefundOfThePaidOrderIsUnderWay,
    DueRefundsHonourAgeBackoffAndPaging, ChatLogSumsChatsByBeijingDayModelAndUser,
    ChatLogPrunesTheOldestRowsInChunks, ReportsSumPaymentsPerDayAndTheOrderFunnel,
    ReportsListRejectedNotifiesNewestFirst);

}  // namespace chatglmd::store::suite
