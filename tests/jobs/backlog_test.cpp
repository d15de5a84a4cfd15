// A 1,000-order backlog: reconcile, then (half an hour later) timeout-close bring every order
// to the state its trade allows, in a bounded number of ticks, and the job_run rows and the
// audit log tell the same story.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "job_world.hpp"
#include "jobs/reconcile_job.hpp"
#include "jobs/timeout_close_job.hpp"

namespace chatglmd::testing {
namespace {

using core::OrderState;
using namespace std::chrono_literals;

constexpr int kOrders = 1000;
constexpr int kAccounts = 10;

enum class Trade { Paid, Waiting, Closed, None };

Trade trade_of(int i) {
  return static_cast<Trade>(i % 4);
}
// Half of the waiting trades get paid between the reconcile and the timeout-close passes.
bool paid_late(int i) {
  return trade_of(i) == Trade::Waiting && (i / 4) % 2 == 0;
}

TEST(JobBacklog, ThousandOrdersReachTheirFinalStatesAndTheRecordsAgree) {
  JobWorld w;
  jobs::ReconcileJob reconcile;
  jobs::TimeoutCloseJob timeout_close;
  std::vector<std::string> ids;
  for (int i = 0; i < kOrders; ++i) {
    ids.push_back(
        w.add_order(w.clock.now() - core::Millis{5min}, fmt::format("acct-{}", i % kAccounts)));
    switch (trade_of(i)) {
      case Trade::Paid:
        w.trade(ids.back(), "TRADE_SUCCESS");
        break;
      case Trade::Waiting:
        w.trade(ids.back(), "WAIT_BUYER_PAY");
        break;
      case Trade::Closed:
        w.trade(ids.back(), "TRADE_CLOSED");
        break;
      case Trade::None:
        break;
    }
  }

  // Reconcile: one tick walks the whole backlog in batches.
  auto r = w.tick(reconcile);
  EXPECT_EQ(r.selected, kOrders);
  EXPECT_EQ(r.done, kOrders);
  EXPECT_EQ(r.unclear, 0);
  EXPECT_EQ(r.exit_code(), 0);
  int still_created = 0;
  for (const auto& id : ids) still_created += w.order(id).state == OrderState::Created;
  EXPECT_EQ(still_created, kOrders / 2);  // waiting and never-existing trades wait

  for (int i = 0; i < kOrders; ++i)
    if (paid_late(i)) w.trade(ids[i], "TRADE_SUCCESS");

  // Half an hour later every CREATED order is overdue: timeout-close until nothing is due.
  w.clock.advance(core::Millis{30min});
  int ticks = 0, selected = 0;
  for (;;) {
    ASSERT_LT(ticks, 3) << "the backlog should clear in one tick plus one that finds nothing";
    auto t = w.tick(timeout_close);
    ++ticks;
    EXPECT_EQ(t.unclear, 0);
    EXPECT_EQ(t.exit_code(), 0);
    selected += t.selected;
    if (t.selected == 0) break;
  }
  EXPECT_EQ(selected, kOrders / 2);

  // Every order in its right final state, and the trades at the gateway agree.
  std::map<std::string, std::int64_t> expected_quota;
  std::map<std::pair<std::string, OrderState>, int> transitions;  // (cause, to) -> count
  int delivered = 0, closed = 0;
  for (int i = 0; i < kOrders; ++i) {
    const auto o = w.order(ids[i]);
    const bool paid = trade_of(i) == Trade::Paid || paid_late(i);
    ASSERT_EQ(o.state, paid ? OrderState::Delivered : OrderState::Closed) << i;
    auto ev = w.events(ids[i]);
    ASSERT_TRUE(legal_event_chain(ev, o.state)) << i;
    for (std::size_t k = 1; k < ev.size(); ++k) ++transitions[{ev[k].cause, ev[k].to}];
    if (paid) {
      ++delivered;
      expected_quota[o.openid] += kQuota;
      EXPECT_EQ(ev.size(), 3u) << i;  // CREATED, PAID, DELIVERED: never closed on the way
    } else {
      ++closed;
      EXPECT_EQ(ev.size(), 2u) << i;
    }
    auto trade = sim_trade(w.sim().port(), ids[i]);
    if (trade_of(i) == Trade::None) {
      EXPECT_FALSE(trade) << i;
    } else {
      ASSERT_TRUE(trade) << i;
      EXPECT_EQ(trade->at("status").as_string(), paid ? "TRADE_SUCCESS" : "TRADE_CLOSED") << i;
    }
  }
  EXPECT_EQ(delivered, kOrders / 4 + kOrders / 8);
  EXPECT_EQ(closed, kOrders - delivered);
  for (int a = 0; a < kAccounts; ++a) {
    auto openid = fmt::format("acct-{}", a);
    EXPECT_EQ(w.quota_of(openid), expected_quota[openid]) << openid;
  }

  // The audit log, by cause.
  const int q = kOrders / 4;
  auto count = [&](const char* cause, OrderState to) { return transitions[{cause, to}]; };
  EXPECT_EQ(count("reconcile", OrderState::Paid), q);
  EXPECT_EQ(count("reconcile", OrderState::Delivered), q);
  EXPECT_EQ(count("reconcile", OrderState::Closed), q);
  EXPECT_EQ(count("timeout-close", OrderState::Paid), q / 2);
  EXPECT_EQ(count("timeout-close", OrderState::Delivered), q / 2);
  EXPECT_EQ(count("timeout-close", OrderState::Closed), q + q / 2);
  EXPECT_EQ(transitions.size(), 6u);

  // The job_run rows agree with it: one reconcile run over the whole backlog, whose decided
  // items are the 500 orders it moved plus the 500 it rightly left waiting; timeout-close runs
  // whose done items are exactly the orders with a timeout-close transition.
  auto rec_runs = w.runs("reconcile");
  ASSERT_EQ(rec_runs.size(), 1u);
  EXPECT_EQ(rec_runs[0].outcome, "ok");
  EXPECT_EQ(rec_runs[0].selected, kOrders);
  EXPECT_EQ(rec_runs[0].succeeded, kOrders);
  EXPECT_EQ(rec_runs[0].failed, 0);
  EXPECT_EQ(rec_runs[0].succeeded - still_created,
            count("reconcile", OrderState::Paid) + count("reconcile", OrderState::Closed));
  auto tc_runs = w.runs("timeout-close");
  EXPECT_EQ(static_cast<int>(tc_runs.size()), ticks);
  int tc_done = 0, tc_selected = 0, tc_failed = 0;
  for (const auto& run : tc_runs) {
    tc_done += run.succeeded;
    tc_selected += run.selected;
    tc_failed += run.failed + run.skipped;
    EXPECT_EQ(run.outcome, "ok");
  }
  EXPECT_EQ(tc_selected, kOrders / 2);
  EXPECT_EQ(tc_failed, 0);
  EXPECT_EQ(tc_done,
            count("timeout-close", OrderState::Paid) + count("timeout-close", OrderState::Closed));
}

}  // namespace
}  // namespace chatglmd::testing
