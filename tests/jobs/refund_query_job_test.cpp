// The refund-query job against a real chatglmd-sim and SQLite file, on a ManualClock: requested
// refunds are left alone while an admin call may still be in flight, then decided by the refund
// query (or sent again when Alipay never got them), with backoff on the refund row.
#include "jobs/refund_query_job.hpp"

#include <gtest/gtest.h>

#include "job_world.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;
using core::OrderState;
using core::RefundStatus;

struct RefundQuery : ::testing::Test {
  JobWorld w;
  jobs::RefundQueryJob job;

  // A delivered order paid at the sim, with a refund requested (row written, quota revoked)
  // and no answer recorded: what a kill -9 during `order refund` leaves.
  std::string requested(const std::string& openid) {
    const std::string id = w.add_paid_undelivered(w.clock.now(), openid);
    w.trade(id, "TRADE_SUCCESS");
    EXPECT_EQ(w.store().orders().deliver(id, core::Cause::Delivery, w.clock.now()),
              store::DeliveryOutcome::Delivered);
    auto r =
        w.store().refunds().request(id, "test", core::Cause::Admin, w.clock.now(), w.clock.now());
    EXPECT_EQ(r.outcome, store::RefundRequestOutcome::Requested);
    return id;
  }
  std::int64_t refund_count(const std::string& id) {
    return sim_trade(w.sim().port(), id)->at("refund_count").as_int64();
  }
  store::Refund refund(const std::string& id) { return *w.store().refunds().get(id); }
};

TEST_F(RefundQuery, ARefundAlipayMadeIsConfirmedByTheQueryAfterTheGrace) {
  const std::string id = requested("made");
  // Alipay made it; our answer was lost with the process.
  auto sent = w.gateway().refund({id, core::refund_request_no(id), core::Fen{kPriceFen}, ""});
  ASSERT_EQ(sent.kind, pay::RefundResult::Kind::Refunded) << sent.detail;
  auto early = w.tick(job);
  EXPECT_EQ(early.selected, 0) << "an admin call may still be waiting for its answer";
  w.clock.advance(2min);
  auto r = w.tick(job);
  EXPECT_EQ(r.selected, 1);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Refunded);
  EXPECT_EQ(refund(id).status, RefundStatus::Succeeded);
  EXPECT_EQ(refund_count(id), 1) << "the query decided: no second call";
  EXPECT_TRUE(legal_event_chain(w.events(id), OrderState::Refunded));
  EXPECT_EQ(w.quota_of("made"), 0);
}

TEST_F(RefundQuery, ARefundAlipayNeverGotIsSentAgainWithTheSameRequestNumber) {
  const std::string id = requested("lost");
  w.clock.advance(2min);
  auto r = w.tick(job);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Refunded);
  EXPECT_EQ(refund_count(id), 1);
  EXPECT_EQ(w.tick(job).selected, 0) << "decided refunds are never due again";
  EXPECT_EQ(refund_count(id), 1);
}

TEST_F(RefundQuery, UnclearAnswersBackOffOnTheRefundRowNotTheOrder) {
  const std::string id = requested("flaky");
  w.clock.advance(2min);
  w.fault("http_error");
  auto r = w.tick(job);
  EXPECT_EQ(r.unclear, 1);
  EXPECT_EQ(r.outcome, "partial");
  auto f = refund(id);
  EXPECT_EQ(f.attempts, 1);
  EXPECT_GT(f.next_attempt_at, w.clock.now());
  EXPECT_NE(f.last_error.find("HTTP 502"), std::string::npos) << f.last_error;
  EXPECT_EQ(w.order(id).attempts, 0) << "the order row keeps no refund error";
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
  EXPECT_EQ(w.tick(job).selected, 0) << "backing off";
  w.clear_faults();
  w.clock.advance(1min);
  auto later = w.tick(job);
  EXPECT_EQ(later.done, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Refunded);
  EXPECT_EQ(refund_count(id), 1);
}

TEST_F(RefundQuery, ARefusalForGoodGivesTheQuotaBack) {
  const std::string id = requested("finished");
  EXPECT_EQ(w.quota_of("finished"), 0);
  w.trade(id, "TRADE_FINISHED");
  w.clock.advance(2min);
  auto r = w.tick(job);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(refund(id).status, RefundStatus::Failed);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
  EXPECT_EQ(w.quota_of("finished"), kQuota);
  EXPECT_EQ(refund_count(id), 0);
}

TEST_F(RefundQuery, ADryRunAsksButChangesNothing) {
  const std::string id = requested("dry");
  w.clock.advance(2min);
  const auto before = sim_trades_snapshot(w.sim().port());
  auto r = w.tick(job, /*dry_run=*/true);
  EXPECT_EQ(r.selected, 1);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(sim_trades_snapshot(w.sim().port()), before);
  EXPECT_EQ(refund(id).status, RefundStatus::Requested);
  EXPECT_EQ(refund(id).attempts, 0);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
}

}  // namespace
}  // namespace chatglmd::testing
