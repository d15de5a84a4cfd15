// Each job against every answer the gateway can give, through a real chatglmd-sim, the real
// AlipayGateway and a real SQLite file. Decided answers move the order; unclear ones change
// nothing but attempts/next_attempt_at/last_error, and make the tick exit 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <set>

#include "job_world.hpp"
#include "jobs/reconcile_job.hpp"
#include "jobs/replenish_shipment_job.hpp"
#include "jobs/settlement.hpp"
#include "jobs/timeout_close_job.hpp"
#include "pay/payment_gateway.hpp"
#include "support/process.hpp"

namespace chatglmd::testing {
namespace {

using core::OrderState;
using namespace std::chrono_literals;

// Every fault the sim can put on a gateway call that leaves us without a trustworthy answer.
const std::vector<std::string> kUnclearFaults = {
    "hang", "drop", "http_error", "system_error", "bad_sign", "no_sign", "truncate"};

struct JobOutcomes : ::testing::Test {
  JobWorld w;
  jobs::TimeoutCloseJob timeout_close;
  jobs::ReconcileJob reconcile;
  jobs::ReplenishShipmentJob replenish;

  core::UtcMs overdue() const { return w.clock.now() - core::Millis{31min}; }
  core::UtcMs waiting_a_while() const { return w.clock.now() - core::Millis{5min}; }
  std::string trade_status(const std::string& id) {
    auto t = sim_trade(w.sim().port(), id);
    return t ? std::string(t->at("status").as_string()) : "none";
  }
  bool ever_closed(const std::string& id) {
    auto ev = w.events(id);
    return std::any_of(ev.begin(), ev.end(),
                       [](const auto& e) { return e.to == OrderState::Closed; });
  }
};

void expect_decided(const jobs::TickReport& r, int done) {
  EXPECT_EQ(r.selected, done);
  EXPECT_EQ(r.done, done);
  EXPECT_EQ(r.unclear, 0);
  EXPECT_EQ(r.outcome, "ok");
  EXPECT_EQ(r.exit_code(), 0);
}

// ---- timeout-close ----

TEST_F(JobOutcomes, TimeoutCloseClosesAtTheGatewayFirstThenHere) {
  auto id = w.add_order(overdue());
  w.trade(id, "WAIT_BUYER_PAY");
  expect_decided(w.tick(timeout_close), 1);
  EXPECT_EQ(trade_status(id), "TRADE_CLOSED");
  auto o = w.order(id);
  EXPECT_EQ(o.state, OrderState::Closed);
  EXPECT_EQ(o.attempts, 0);
  auto ev = w.events(id);
  EXPECT_TRUE(legal_event_chain(ev, OrderState::Closed));
  EXPECT_EQ(ev.back().cause, "timeout-close");
  auto runs = w.runs("timeout-close");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, "ok");
  EXPECT_EQ(runs[0].selected, 1);
  EXPECT_EQ(runs[0].succeeded, 1);
  // Final: the next tick finds nothing.
  expect_decided(w.tick(timeout_close), 0);
}

// The workers' outcomes are units of the group commit they are given (serve's): each close and
// each recorded failure goes through it, counted only once it has committed.
TEST_F(JobOutcomes, OutcomesOfATickAreUnitsOfTheGroupCommit) {
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    ids.push_back(w.add_order(overdue()));
    w.trade(ids.back(), "WAIT_BUYER_PAY");
  }
  w.fault("http_error", "alipay.trade.close", 2);  // two unclear answers: recorded failures
  store::GroupCommitter commits(w.store());
  auto settings = timeout_close.defaults();
  settings.concurrency = 4;
  jobs::JobContext ctx{w.clock, w.store(), w.gateway(), settings};
  ctx.commits = &commits;
  auto report = jobs::run_tick(timeout_close, ctx, {"test:1:serve", 0});
  EXPECT_EQ(report.done, 10);
  EXPECT_EQ(report.unclear, 2);
  EXPECT_EQ(commits.units(), 12u) << "ten closes and two failures, all through the committer";
  EXPECT_LE(commits.commits(), commits.units());
  int closed = 0;
  for (const auto& id : ids) closed += w.order(id).state == OrderState::Closed;
  EXPECT_EQ(closed, 10);
}

// Watches the real gateway's calls: how many are in flight, the most at once, and how many
// have been answered.
class CallWatch final : public pay::PaymentGateway {
 public:
  explicit CallWatch(pay::PaymentGateway& inner) : inner_(inner) {}
  void async_query(const std::string& id,
                   std::function<void(pay::TradeQueryResult)> done) override {
    begin();
    inner_.async_query(id, [this, done = std::move(done)](pay::TradeQueryResult r) {
      end();
      done(std::move(r));
    });
  }
  void async_close(const std::string& id,
                   std::function<void(pay::TradeCloseResult)> done) override {
    begin();
    inner_.async_close(id, [this, done = std::move(done)](pay::TradeCloseResult r) {
      end();
      done(std::move(r));
    });
  }
  void async_create_pay_form(const core::Order& o,
                             std::function<void(pay::PayFormResult)> done) override {
    inner_.async_create_pay_form(o, std::move(done));
  }
  int answered() const { return answered_.load(); }
  int peak() const { return peak_.load(); }

 private:
  void begin() {
    int now = ++in_flight_;
    int seen = peak_.load();
    while (now > seen && !peak_.compare_exchange_weak(seen, now)) {
    }
  }
  void end() {
    --in_flight_;
    ++answered_;
  }
  pay::PaymentGateway& inner_;
  std::atomic<int> in_flight_{0}, peak_{0}, answered_{0};
};

// `concurrency` bounds the gateway calls, not the workers: while the outcomes of answered calls
// wait for their commit, other workers go on asking the gateway, never more than `concurrency`
// at once. (With one worker per call slot the tick stalled at `concurrency` answered calls.)
TEST_F(JobOutcomes, GatewayCallsGoOnWhileOutcomesWaitForTheirCommit) {
  constexpr int kConcurrency = 4;
  std::vector<std::string> ids;
  for (int i = 0; i < 3 * kConcurrency; ++i) {
    ids.push_back(w.add_order(overdue()));
    w.trade(ids.back(), "WAIT_BUYER_PAY");
  }
  CallWatch calls(w.gateway());
  store::GroupCommitter commits(w.store());
  // The committer is held in the reply of an empty unit: the store stays free for the tick's
  // lease and page reads, but no outcome commits until the test lets go.
  std::promise<void> holding, release;
  auto released = release.get_future().share();
  commits.submit([] {},
                 [&holding, released](bool) {
                   holding.set_value();
                   released.wait();
                 });
  holding.get_future().wait();
  auto settings = timeout_close.defaults();
  settings.concurrency = kConcurrency;
  jobs::JobContext ctx{w.clock, w.store(), calls, settings};
  ctx.commits = &commits;
  auto tick = std::async(std::launch::async, [&] {
    return jobs::run_tick(timeout_close, ctx, {"test:1:serve", 0});
  });
  const bool went_on =
      eventually([&] { return calls.answered() >= 2 * kConcurrency; }, std::chrono::seconds(10));
  const int answered_while_held = calls.answered();
  release.set_value();
  auto report = tick.get();
  EXPECT_TRUE(went_on) << "only " << answered_while_held
                       << " calls answered while the outcomes waited for a commit";
  EXPECT_LE(calls.peak(), kConcurrency) << "never more calls in flight than `concurrency`";
  EXPECT_EQ(report.done, 3 * kConcurrency);
  for (const auto& id : ids) EXPECT_EQ(w.order(id).state, OrderState::Closed);
}

// Watches the real gateway's closes in their two steps: how many were prepared (built and
// signed), how many sent, and how many had been prepared when the first answer came.
class PrepareWatch final : public pay::PaymentGateway {
 public:
  explicit PrepareWatch(pay::PaymentGateway& inner) : inner_(inner) {}
  void async_query(const std::string& id,
                   std::function<void(pay::TradeQueryResult)> done) override {
    inner_.async_query(id, std::move(done));
  }
  void async_close(const std::string& id,
                   std::function<void(pay::TradeCloseResult)> done) override {
    prepare_close(id)(std::move(done));
  }
  void async_create_pay_form(const core::Order& o,
                             std::function<void(pay::PayFormResult)> done) override {
    inner_.async_create_pay_form(o, std::move(done));
  }
  pay::PreparedCall<pay::TradeCloseResult> prepare_close(const std::string& id) override {
    auto send = inner_.prepare_close(id);
    ++prepared_;
    return [this, send](std::function<void(pay::TradeCloseResult)> done) {
      ++sent_;
      send([this, done = std::move(done)](pay::TradeCloseResult r) {
        if (answered_++ == 0) prepared_at_first_answer_ = prepared_.load();
        done(std::move(r));
      });
    };
  }
  int sent() const { return sent_.load(); }
  int prepared_at_first_answer() const { return prepared_at_first_answer_.load(); }

 private:
  pay::PaymentGateway& inner_;
  std::atomic<int> prepared_{0}, sent_{0}, answered_{0}, prepared_at_first_answer_{0};
};

// A close is signed before it waits for a call slot: while the only slot is held by a call the
// gateway does not answer, the second worker's close is already built and signed, so a freed
// slot goes at once to a call that is ready. (Signed inside the slot, each call held its slot
// for its signing too, and only one close was ever prepared while the slot was busy.)
TEST_F(JobOutcomes, TheNextCloseIsSignedWhileTheCallSlotIsBusy) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(w.add_order(overdue()));
    w.trade(ids.back(), "WAIT_BUYER_PAY");
  }
  w.fault("hang", "alipay.trade.close", 1);  // the first close holds the slot until its timeout
  PrepareWatch closes(w.gateway());
  auto settings = timeout_close.defaults();
  settings.concurrency = 1;
  jobs::JobContext ctx{w.clock, w.store(), closes, settings};
  auto report = jobs::run_tick(timeout_close, ctx, {"test:1:serve", 0});
  EXPECT_EQ(closes.prepared_at_first_answer(), 2)
      << "the second worker's close waited for the slot before it was signed";
  EXPECT_EQ(closes.sent(), 3);
  EXPECT_EQ(report.done, 2);
  EXPECT_EQ(report.unclear, 1);  // the hung close: changed nothing, retried later
}

TEST_F(JobOutcomes, TimeoutCloseClosesAnOrderWhoseTradeNeverExisted) {
  auto id = w.add_order(overdue());
  expect_decided(w.tick(timeout_close), 1);
  EXPECT_EQ(w.order(id).state, OrderState::Closed);
  EXPECT_EQ(trade_status(id), "none");  // closing never creates a trade there
  EXPECT_TRUE(legal_event_chain(w.events(id), OrderState::Closed));
}

TEST_F(JobOutcomes, TimeoutCloseOfAPaidTradeDeliversAndNeverCloses) {
  auto id = w.add_order(overdue(), "paid-buyer");
  w.trade(id, "TRADE_SUCCESS");
  // close -> ACQ.TRADE_STATUS_ERROR -> query says TRADE_SUCCESS -> PAID + delivered.
  expect_decided(w.tick(timeout_close), 1);
  auto o = w.order(id);
  EXPECT_EQ(o.state, OrderState::Delivered);
  EXPECT_FALSE(o.trade_no.empty());
  EXPECT_TRUE(o.pay_time.has_value());
  EXPECT_EQ(w.quota_of("paid-buyer"), kQuota);
  EXPECT_EQ(trade_status(id), "TRADE_SUCCESS");
  EXPECT_FALSE(ever_closed(id));
  auto ev = w.events(id);
  EXPECT_TRUE(legal_event_chain(ev, OrderState::Delivered));
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[1].cause, "timeout-close");
  EXPECT_EQ(ev[2].cause, "timeout-close");
  // Nothing more to do, and never a second grant.
  expect_decided(w.tick(timeout_close), 0);
  EXPECT_EQ(w.quota_of("paid-buyer"), kQuota);
}

TEST_F(JobOutcomes, TimeoutCloseOfATradeClosedThereClosesHere) {
  auto id = w.add_order(overdue());
  w.trade(id, "TRADE_CLOSED");
  expect_decided(w.tick(timeout_close), 1);
  EXPECT_EQ(w.order(id).state, OrderState::Closed);
}

TEST_F(JobOutcomes, TimeoutCloseLeavesOrdersThatAreNotOverdue) {
  auto young = w.add_order(w.clock.now() - core::Millis{29min});
  auto old = w.add_order(overdue());
  expect_decided(w.tick(timeout_close), 1);
  EXPECT_EQ(w.order(young).state, OrderState::Created);
  EXPECT_EQ(w.order(old).state, OrderState::Closed);
}

class UnclearClose : public JobOutcomes, public ::testing::WithParamInterface<std::string> {};

TEST_P(UnclearClose, ChangesNothingButBackoffAndIsRetriedLater) {
  auto id = w.add_order(overdue());
  w.trade(id, "WAIT_BUYER_PAY");
  w.fault(GetParam(), "alipay.trade.close");
  const auto now = w.clock.now();
  auto r = w.tick(timeout_close);
  EXPECT_EQ(r.selected, 1);
  EXPECT_EQ(r.unclear, 1);
  EXPECT_EQ(r.outcome, "partial");
  EXPECT_EQ(r.exit_code(), 1);
  auto o = w.order(id);
  EXPECT_EQ(o.state, OrderState::Created);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_GE(o.next_attempt_at, now + core::Millis{24s});  // 30 s -20%
  EXPECT_LE(o.next_attempt_at, now + core::Millis{36s});  // 30 s +20%
  EXPECT_NE(o.last_error.find("close unclear"), std::string::npos) << o.last_error;
  EXPECT_EQ(w.events(id).size(), 1u);
  auto runs = w.runs("timeout-close");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, "partial");
  EXPECT_EQ(runs[0].failed, 1);

  // Backing off: not due again yet.
  EXPECT_EQ(w.tick(timeout_close).selected, 0);
  // A second failure doubles the wait.
  w.clock.set(o.next_attempt_at);
  auto again = w.tick(timeout_close);
  EXPECT_EQ(again.unclear, 1);
  auto o2 = w.order(id);
  EXPECT_EQ(o2.attempts, 2);
  EXPECT_GE(o2.next_attempt_at, w.clock.now() + core::Millis{48s});
  EXPECT_LE(o2.next_attempt_at, w.clock.now() + core::Millis{72s});

  // The gateway recovers: the order is decided (closed), whether or not the damaged answer
  // had closed the trade there, and the failure bookkeeping is cleared.
  w.clear_faults();
  w.clock.set(o2.next_attempt_at);
  expect_decided(w.tick(timeout_close), 1);
  auto done = w.order(id);
  EXPECT_EQ(done.state, OrderState::Closed);
  EXPECT_EQ(done.attempts, 0);
  EXPECT_EQ(done.last_error, "");
  EXPECT_EQ(trade_status(id), "TRADE_CLOSED");
}

TEST_P(UnclearClose, UnclearQueryAfterStatusErrorNeitherClosesNorDelivers) {
  auto id = w.add_order(overdue(), "paid-buyer");
  w.trade(id, "TRADE_SUCCESS");
  w.fault(GetParam(), "alipay.trade.query");
  auto r = w.tick(timeout_close);
  EXPECT_EQ(r.unclear, 1);
  EXPECT_EQ(r.exit_code(), 1);
  auto o = w.order(id);
  EXPECT_EQ(o.state, OrderState::Created);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(w.quota_of("paid-buyer"), 0);
  EXPECT_EQ(w.events(id).size(), 1u);

  w.clear_faults();
  w.clock.set(o.next_attempt_at);
  expect_decided(w.tick(timeout_close), 1);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
  EXPECT_EQ(w.quota_of("paid-buyer"), kQuota);
  EXPECT_FALSE(ever_closed(id));
}

INSTANTIATE_TEST_SUITE_P(EveryFault, UnclearClose, ::testing::ValuesIn(kUnclearFaults));

TEST_F(JobOutcomes, ABurstOfUnclearOrdersRetriesSpreadOutNotInLockstep) {
  std::vector<std::string> ids;
  for (int i = 0; i < 64; ++i) ids.push_back(w.add_order(overdue()));
  w.fault("http_error", "alipay.trade.close");
  const auto now = w.clock.now();
  auto r = w.tick(timeout_close);  // batch 50, 16 in flight: most orders run on worker threads
  EXPECT_EQ(r.unclear, 64);
  std::set<std::int64_t> retry_at;
  for (const auto& id : ids) {
    auto o = w.order(id);
    EXPECT_GE(o.next_attempt_at, now + core::Millis{24s});
    EXPECT_LT(o.next_attempt_at, now + core::Millis{36s});
    retry_at.insert(o.next_attempt_at.ms);
  }
  // Jitter over 12 s at ms resolution: 64 draws nearly never collide.
  EXPECT_GE(retry_at.size(), 48u);
}

// ---- reconcile ----

TEST_F(JobOutcomes, ReconcileDeliversAPaidTrade) {
  auto id = w.add_order(waiting_a_while(), "buyer-r");
  w.trade(id, "TRADE_SUCCESS");
  expect_decided(w.tick(reconcile), 1);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
  EXPECT_EQ(w.quota_of("buyer-r"), kQuota);
  auto ev = w.events(id);
  EXPECT_TRUE(legal_event_chain(ev, OrderState::Delivered));
  EXPECT_EQ(ev[1].cause, "reconcile");
  expect_decided(w.tick(reconcile), 0);
  EXPECT_EQ(w.quota_of("buyer-r"), kQuota);
}

TEST_F(JobOutcomes, ReconcileClosesATradeClosedThere) {
  auto id = w.add_order(waiting_a_while());
  w.trade(id, "TRADE_CLOSED");
  expect_decided(w.tick(reconcile), 1);
  EXPECT_EQ(w.order(id).state, OrderState::Closed);
  EXPECT_EQ(w.events(id).back().cause, "reconcile");
}

TEST_F(JobOutcomes, ReconcileLeavesWaitingAndMissingTradesAlone) {
  auto waiting = w.add_order(waiting_a_while());
  w.trade(waiting, "WAIT_BUYER_PAY");
  auto missing = w.add_order(waiting_a_while());
  expect_decided(w.tick(reconcile), 2);
  for (const auto& id : {waiting, missing}) {
    auto o = w.order(id);
    EXPECT_EQ(o.state, OrderState::Created);
    EXPECT_EQ(o.attempts, 0);  // a clear "not yet" is not a failure
    EXPECT_EQ(w.events(id).size(), 1u);
  }
  EXPECT_EQ(trade_status(waiting), "WAIT_BUYER_PAY");  // reconcile never closes at the gateway
  EXPECT_EQ(trade_status(missing), "none");
}

TEST_F(JobOutcomes, ReconcileOnlyLooksBetweenAfterAndTheCloseThreshold) {
  auto young = w.add_order(w.clock.now() - core::Millis{30s});
  auto mid = w.add_order(waiting_a_while());
  auto overdue_one = w.add_order(overdue());
  for (const auto& id : {young, mid, overdue_one}) w.trade(id, "TRADE_SUCCESS");
  expect_decided(w.tick(reconcile), 1);
  EXPECT_EQ(w.order(young).state, OrderState::Created);
  EXPECT_EQ(w.order(mid).state, OrderState::Delivered);
  EXPECT_EQ(w.order(overdue_one).state, OrderState::Created);  // timeout-close's, not ours
}

TEST_F(JobOutcomes, ReconcileNeverDeliversAPaymentOfAnotherAmount) {
  auto id = w.add_order(waiting_a_while(), "buyer-m");
  w.trade(id, "TRADE_SUCCESS", core::Fen{1});
  auto r = w.tick(reconcile);
  EXPECT_EQ(r.unclear, 1);
  EXPECT_EQ(r.exit_code(), 1);
  auto o = w.order(id);
  EXPECT_EQ(o.state, OrderState::Created);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_NE(o.last_error.find("amount"), std::string::npos) << o.last_error;
  EXPECT_EQ(w.quota_of("buyer-m"), 0);
}

class UnclearQuery : public JobOutcomes, public ::testing::WithParamInterface<std::string> {};

TEST_P(UnclearQuery, ReconcileChangesNothingButBackoff) {
  auto id = w.add_order(waiting_a_while(), "buyer-u");
  w.trade(id, "TRADE_SUCCESS");
  w.fault(GetParam(), "alipay.trade.query");
  const auto now = w.clock.now();
  auto r = w.tick(reconcile);
  EXPECT_EQ(r.unclear, 1);
  EXPECT_EQ(r.exit_code(), 1);
  auto o = w.order(id);
  EXPECT_EQ(o.state, OrderState::Created);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_GE(o.next_attempt_at, now + core::Millis{24s});
  EXPECT_LE(o.next_attempt_at, now + core::Millis{36s});
  EXPECT_NE(o.last_error.find("query unclear"), std::string::npos) << o.last_error;
  EXPECT_EQ(w.quota_of("buyer-u"), 0);
  EXPECT_EQ(w.events(id).size(), 1u);

  w.clear_faults();
  w.clock.set(o.next_attempt_at);
  expect_decided(w.tick(reconcile), 1);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
  EXPECT_EQ(w.quota_of("buyer-u"), kQuota);
}

INSTANTIATE_TEST_SUITE_P(EveryFault, UnclearQuery, ::testing::ValuesIn(kUnclearFaults));

// ---- replenish-shipment ----

TEST_F(JobOutcomes, ReplenishDeliversALostDeliveryOnce) {
  auto lost = w.add_paid_undelivered(w.clock.now() - core::Millis{4min}, "buyer-p");
  auto fresh = w.add_paid_undelivered(w.clock.now() - core::Millis{1min}, "buyer-q");
  // It needs no gateway: even a dead one does not stop delivery.
  w.fault("http_error");
  expect_decided(w.tick(replenish), 1);
  EXPECT_EQ(w.order(lost).state, OrderState::Delivered);
  EXPECT_EQ(w.quota_of("buyer-p"), kQuota);
  EXPECT_EQ(w.order(fresh).state, OrderState::Paid);  // the normal delivery may still come
  auto ev = w.events(lost);
  EXPECT_TRUE(legal_event_chain(ev, OrderState::Delivered));
  EXPECT_EQ(ev.back().cause, "replenish-shipment");

  expect_decided(w.tick(replenish), 0);
  EXPECT_EQ(jobs::deliver(w.store(), lost, core::Cause::ReplenishShipment, w.clock.now()),
            store::DeliveryOutcome::AlreadyDelivered);
  EXPECT_EQ(w.quota_of("buyer-p"), kQuota);

  w.clock.advance(core::Millis{3min});
  expect_decided(w.tick(replenish), 1);
  EXPECT_EQ(w.quota_of("buyer-q"), kQuota);
}

// ---- limits and dry runs ----

TEST_F(JobOutcomes, LimitHandlesAtMostThatManyOrders) {
  for (int i = 0; i < 5; ++i) w.add_order(overdue());
  auto settings = timeout_close.defaults();
  settings.batch = 2;
  auto r = w.tick(timeout_close, false, 3, settings);
  EXPECT_EQ(r.selected, 3);
  EXPECT_EQ(r.done, 3);
  expect_decided(w.tick(timeout_close), 2);
}

struct Snapshot {
  std::vector<std::tuple<std::string, OrderState, int, std::int64_t, std::string, std::string>>
      orders;
  std::size_t events = 0;
  std::size_t runs = 0;
  std::int64_t quota = 0;
  std::string trades;
  bool operator==(const Snapshot&) const = default;
};

TEST_F(JobOutcomes, DryRunChangesNothingHereOrAtTheGateway) {
  std::vector<std::string> ids;
  auto add = [&](core::UtcMs placed, const char* status) {
    ids.push_back(w.add_order(placed, "dry-buyer"));
    if (status) w.trade(ids.back(), status);
  };
  add(overdue(), "WAIT_BUYER_PAY");
  add(overdue(), nullptr);
  add(overdue(), "TRADE_SUCCESS");
  add(waiting_a_while(), "TRADE_SUCCESS");
  add(waiting_a_while(), "TRADE_CLOSED");
  ids.push_back(w.add_paid_undelivered(w.clock.now() - core::Millis{4min}, "dry-buyer"));
  auto snapshot = [&] {
    Snapshot s;
    for (const auto& id : ids) {
      auto o = w.order(id);
      s.orders.emplace_back(id, o.state, o.attempts, o.next_attempt_at.ms, o.last_error,
                            o.trade_no);
      s.events += w.events(id).size();
    }
    for (const char* job : {"timeout-close", "reconcile", "replenish-shipment"})
      s.runs += w.runs(job).size();
    s.quota = w.quota_of("dry-buyer");
    s.trades = sim_trades_snapshot(w.sim().port());
    return s;
  };
  const Snapshot before = snapshot();

  auto tc = w.tick(timeout_close, true);
  EXPECT_EQ(tc.selected, 3);
  EXPECT_EQ(tc.done, 3);
  EXPECT_EQ(tc.exit_code(), 0);
  expect_decided(w.tick(reconcile, true), 2);
  expect_decided(w.tick(replenish, true), 1);
  // An unclear answer in a dry run is reported, not recorded.
  w.fault("http_error", "alipay.trade.query", 1);
  auto unclear = w.tick(reconcile, true);
  EXPECT_EQ(unclear.unclear, 1);
  EXPECT_EQ(unclear.exit_code(), 1);
  EXPECT_TRUE(snapshot() == before);

  // The same ticks for real do change all of it, so the comparison above could fail.
  w.tick(timeout_close);
  w.tick(reconcile);
  w.tick(replenish);
  const Snapshot after = snapshot();
  EXPECT_NE(after.trades, before.trades);
  EXPECT_EQ(after.quota,
            3 * kQuota);  // the overdue paid one, the reconciled one, the replenished one
  EXPECT_EQ(w.order(ids[0]).state, OrderState::Closed);
  EXPECT_EQ(w.order(ids[1]).state, OrderState::Closed);
  EXPECT_EQ(w.order(ids[4]).state, OrderState::Closed);
  EXPECT_EQ(w.runs("timeout-close").size(), 1u);
}

}  // namespace
}  // namespace chatglmd::testing
