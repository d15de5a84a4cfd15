// The follow-up of orders closed on ACQ.TRADE_NOT_EXIST, against the real chatglmd-sim whose
// clock is pinned to the test's ManualClock: a payment made after our close is found once its
// time_expire has passed and delivered once as a late payment; the order is not asked about
// before, then once a day for 7 days, then never again.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "job_world.hpp"
#include "jobs/close_followup_job.hpp"
#include "jobs/job_metrics.hpp"
#include "jobs/settle_from_gateway.hpp"
#include "jobs/timeout_close_job.hpp"
#include "pay/payment_gateway.hpp"
#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

using core::OrderState;
using namespace std::chrono_literals;

constexpr core::Millis kCloseAfter = 30min;  // JobWorld's [jobs.timeout-close] after
constexpr core::Millis kGrace = 5min;        // close-followup's default `after`

struct CloseFollowup : ::testing::Test {
  JobWorld w;
  jobs::CloseFollowupJob followup;
  jobs::TimeoutCloseJob timeout_close;

  CloseFollowup() { sync_sim_clock(); }

  // The sim judges time_expire on the same time line as the jobs.
  void sync_sim_clock() {
    sim_control(w.sim().port(), "/sim/alipay/clock",
                boost::json::serialize(boost::json::object{{"now_ms", w.clock.now().ms}}));
  }
  void advance(core::Millis d) {
    w.clock.advance(d);
    sync_sim_clock();
  }
  // Closed here on TRADE_NOT_EXIST by timeout-close, as it is at kStart + 30m.
  std::string closed_on_not_exist() {
    auto id = w.add_order(w.clock.now() - kCloseAfter);
    auto r = w.tick(timeout_close);
    EXPECT_EQ(r.done, 1);
    EXPECT_EQ(w.order(id).state, OrderState::Closed);
    return id;
  }
  store::CloseFollowup state_of(const std::string& id) {
    auto f = w.store().orders().close_followup(id);
    if (!f) throw std::runtime_error("no follow-up for " + id);
    return *f;
  }
  // The buyer opens the cashier from the page-pay form we handed out, then pays.
  ::testing::AssertionResult buyer_pays(const std::string& id) {
    auto form = w.gateway().create_pay_form(w.order(id));
    if (!form.ok) return ::testing::AssertionFailure() << form.detail;
    auto page = submit_pay_form(form.data);
    if (page.status != 200) return ::testing::AssertionFailure() << "cashier: " << page.body;
    auto paid =
        http_request(w.sim().port(), "POST", "/sim/alipay/pay",
                     R"({"out_trade_no":")" + id + R"("})", {{"Content-Type", "application/json"}});
    if (paid.status != 200) return ::testing::AssertionFailure() << "pay: " << paid.body;
    return ::testing::AssertionSuccess();
  }
  static double late_payments() {
    return jobs::JobMetrics::global().late_payments("deliver").value();
  }
  static double reconcile_deliveries() {
    return jobs::JobMetrics::global().deliveries("reconcile").value();
  }
};

// An admin closes the order early; Alipay says the trade does not exist (the buyer has not
// opened the cashier yet), so it is closed here. Before time_expire the buyer opens the cashier
// from the form we gave out and pays; the notify is lost. The follow-up finds the payment.
TEST_F(CloseFollowup, APaymentMadeAfterOurCloseIsDeliveredOnceAsALatePayment) {
  const core::UtcMs placed = w.clock.now();
  const auto id = w.add_order(placed, "late-buyer");
  advance(10min);
  jobs::JobContext admin{w.clock, w.store(), w.gateway(), {}};
  admin.close_after = kCloseAfter;
  auto closed = jobs::close_via_gateway(admin, w.order(id), core::Cause::Admin);
  ASSERT_EQ(closed.status, jobs::ItemStatus::Done) << closed.detail;
  ASSERT_EQ(w.order(id).state, OrderState::Closed);
  EXPECT_EQ(state_of(id).time_expire, placed + kCloseAfter);

  advance(10min);
  ASSERT_TRUE(buyer_pays(id));
  ASSERT_EQ(sim_trade(w.sim().port(), id)->at("status").as_string(), "TRADE_SUCCESS");
  EXPECT_EQ(w.order(id).state, OrderState::Closed);

  // Not asked before time_expire + the job's grace.
  const double late_before = late_payments();
  const double delivered_before = reconcile_deliveries();
  w.clock.set(placed + kCloseAfter + kGrace - 1ms);
  EXPECT_EQ(w.tick(followup).selected, 0);
  EXPECT_EQ(state_of(id).queries_done, 0);
  EXPECT_EQ(w.order(id).state, OrderState::Closed);

  w.clock.set(placed + kCloseAfter + kGrace);
  auto found = w.tick(followup);
  EXPECT_EQ(found.selected, 1);
  EXPECT_EQ(found.done, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
  EXPECT_EQ(w.quota_of("late-buyer"), kQuota);
  EXPECT_EQ(late_payments(), late_before + 1);
  EXPECT_EQ(reconcile_deliveries(), delivered_before + 1);
  const auto events = w.events(id);
  EXPECT_TRUE(legal_event_chain(events, OrderState::Delivered));
  EXPECT_NE(events[events.size() - 2].detail.find("late payment"), std::string::npos);
  EXPECT_FALSE(state_of(id).pending);
  EXPECT_EQ(state_of(id).last_answer, "paid");

  // Delivered once: later ticks find nothing to ask.
  for (int day = 0; day < 3; ++day) {
    w.clock.advance(24h);
    EXPECT_EQ(w.tick(followup).selected, 0);
  }
  EXPECT_EQ(w.quota_of("late-buyer"), kQuota);
  EXPECT_EQ(late_payments(), late_before + 1);
}

TEST_F(CloseFollowup, AskedOnceAfterTimeExpireThenDailyForSevenDaysThenNever) {
  const auto id = closed_on_not_exist();  // now = order time + 30m = time_expire
  EXPECT_EQ(state_of(id).time_expire, w.clock.now());
  EXPECT_EQ(state_of(id).closed_at, w.clock.now());
  EXPECT_EQ(w.tick(followup).selected, 0);
  w.clock.advance(kGrace);

  int asked = 0;
  auto ask = [&] {
    auto r = w.tick(followup);
    asked += r.selected;
    EXPECT_EQ(r.unclear, 0);
    return r.selected;
  };
  EXPECT_EQ(ask(), 1);  // once after time_expire
  EXPECT_EQ(ask(), 0);  // and not again the same day
  for (int day = 1; day <= jobs::kCloseFollowupDays; ++day) {
    SCOPED_TRACE(day);
    w.clock.advance(23h);
    EXPECT_EQ(ask(), 0);
    w.clock.advance(1h + kGrace);
    EXPECT_EQ(ask(), 1);
  }
  for (int day = 0; day < 30; ++day) {
    w.clock.advance(24h);
    EXPECT_EQ(ask(), 0) << "asked again after the last daily follow-up";
  }
  EXPECT_EQ(asked, 1 + jobs::kCloseFollowupDays);
  const auto f = state_of(id);
  EXPECT_EQ(f.queries_done, 1 + jobs::kCloseFollowupDays);
  EXPECT_FALSE(f.pending);
  EXPECT_EQ(f.last_answer, "TRADE_NOT_EXIST");
  EXPECT_EQ(w.order(id).state, OrderState::Closed);
  EXPECT_EQ(w.store().orders().backlog_close_followups(w.clock.now()).count, 0);
}

// A trade that appears at Alipay days after our close (the sim control creates it paid) is
// found by that day's follow-up.
TEST_F(CloseFollowup, APaymentFoundOnALaterDayIsDeliveredOnce) {
  const auto id = closed_on_not_exist();
  w.clock.advance(kGrace);
  EXPECT_EQ(w.tick(followup).done, 1);
  EXPECT_EQ(state_of(id).queries_done, 1);
  w.trade(id, "TRADE_SUCCESS");
  const double late_before = late_payments();
  w.clock.advance(24h + kGrace);
  EXPECT_EQ(w.tick(followup).done, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
  EXPECT_EQ(late_payments(), late_before + 1);
  w.clock.advance(24h);
  EXPECT_EQ(w.tick(followup).selected, 0);
  EXPECT_EQ(w.quota_of(w.order(id).openid), kQuota);
}

// Only closes on TRADE_NOT_EXIST are followed up: a trade Alipay closed cannot take money.
TEST_F(CloseFollowup, AConfirmedCloseAtTheGatewayNeedsNoFollowUp) {
  auto id = w.add_order(w.clock.now() - kCloseAfter);
  w.trade(id, "WAIT_BUYER_PAY");
  EXPECT_EQ(w.tick(timeout_close).done, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Closed);
  EXPECT_FALSE(w.store().orders().close_followup(id));
}

// A trade still waiting for the buyer past time_expire (a gateway that ignored it) is closed at
// the gateway, after which nothing more can be paid and the follow-up ends.
TEST_F(CloseFollowup, ATradeStillWaitingPastTimeExpireIsClosedAtTheGateway) {
  const auto id = closed_on_not_exist();
  w.trade(id, "WAIT_BUYER_PAY");  // created by the control API: no time_expire at the sim
  w.clock.advance(kGrace);
  auto r = w.tick(followup);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(sim_trade(w.sim().port(), id)->at("status").as_string(), "TRADE_CLOSED");
  EXPECT_FALSE(state_of(id).pending);
  EXPECT_EQ(w.order(id).state, OrderState::Closed);
  w.clock.advance(24h);
  EXPECT_EQ(w.tick(followup).selected, 0);
}

// An unclear answer is no answer: it is retried with backoff and does not use up a day.
TEST_F(CloseFollowup, AnUnclearAnswerIsRetriedAndNotCounted) {
  const auto id = closed_on_not_exist();
  w.clock.advance(kGrace);
  w.fault("system_error", "alipay.trade.query", 1);
  auto r = w.tick(followup);
  EXPECT_EQ(r.unclear, 1);
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_EQ(state_of(id).queries_done, 0);
  EXPECT_TRUE(state_of(id).pending);
  EXPECT_EQ(w.tick(followup).selected, 0) << "backoff";
  w.clock.advance(1min);
  r = w.tick(followup);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(state_of(id).queries_done, 1);
  EXPECT_EQ(w.order(id).attempts, 0) << "a clear answer ends the backoff";
}

TEST_F(CloseFollowup, ADryRunAsksButChangesNothing) {
  const auto id = closed_on_not_exist();
  w.trade(id, "TRADE_SUCCESS");
  w.clock.advance(kGrace);
  const std::string sim_before = sim_trades_snapshot(w.sim().port());
  auto r = w.tick(followup, /*dry_run=*/true);
  EXPECT_EQ(r.selected, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Closed);
  EXPECT_EQ(state_of(id).queries_done, 0);
  EXPECT_EQ(sim_trades_snapshot(w.sim().port()), sim_before);
  EXPECT_EQ(w.tick(followup).done, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
}

// With time_expire the cashier opened after our close (and after time_expire) takes no money:
// the sim refuses to create the trade, so there is nothing to pay late.
TEST_F(CloseFollowup, TheCashierOpenedAfterTimeExpireCreatesNoTrade) {
  const auto id = closed_on_not_exist();
  advance(1s);
  auto form = w.gateway().create_pay_form(w.order(id));
  ASSERT_TRUE(form.ok);
  EXPECT_EQ(submit_pay_form(form.data).status, 409);
  EXPECT_FALSE(sim_trade(w.sim().port(), id));
}

}  // namespace
}  // namespace chatglmd::testing
