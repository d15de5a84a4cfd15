// The refund-query job against a real chatglmd-sim and SQLite file, on a ManualClock: requested
// refunds are left alone while an admin call may still be in flight, then decided by the refund
// query (or sent again when Alipay never got them), with backoff on the refund row.
#include "jobs/refund_query_job.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "job_world.hpp"
#include "jobs/job_metrics.hpp"
#include "jobs/refunds.hpp"
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
    // The sim's trade carries the trade_no the order was paid with, as Alipay's would.
    sim_control(w.sim().port(), "/sim/alipay/trade",
                boost::json::serialize(boost::json::object{{"out_trade_no", id},
                                                           {"total_amount", "9.99"},
                                                           {"status", "TRADE_SUCCESS"},
                                                           {"trade_no", "2024" + id},
                                                           {"app_id", kAppId}}));
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
  // A sim fault with its extra fields (sub_code, field, value), for `count` calls of `method`.
  void fault(boost::json::object f, const std::string& method, int count = 1) {
    f["method"] = method;
    f["count"] = count;
    sim_control(w.sim().port(), "/sim/alipay/fault", boost::json::serialize(f));
  }
  // What `order refund` does with a refund it requested: send it now.
  jobs::ItemResult send(const store::Refund& r) {
    jobs::JobContext ctx{w.clock, w.store(), w.gateway(), job.defaults()};
    return jobs::send_refund(ctx, r, core::Cause::Admin);
  }
  // What the refund-query job does with a due refund: ask, then decide or send again.
  jobs::ItemResult settle(const store::Refund& r) {
    jobs::JobContext ctx{w.clock, w.store(), w.gateway(), job.defaults()};
    return jobs::settle_refund(ctx, r, core::Cause::RefundQuery);
  }
  // Alipay made the refund; whatever answered that call is lost.
  void made_at_alipay(const std::string& id) {
    auto sent = w.gateway().refund({id, core::refund_request_no(id), core::Fen{kPriceFen}, "", ""});
    ASSERT_EQ(sent.kind, pay::RefundResult::Kind::Refunded) << sent.detail;
  }
};

constexpr const char* kRefund = "alipay.trade.refund";
constexpr const char* kRefundQuery = "alipay.trade.fastpay.refund.query";

TEST_F(RefundQuery, ARefundAlipayMadeIsConfirmedByTheQueryAfterTheGrace) {
  const std::string id = requested("made");
  // Alipay made it; our answer was lost with the process.
  made_at_alipay(id);
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

// A refusal is an error answer: it names no trade, so it may answer another call, or a resend of
// a refund an earlier send made. The query decides; the quota goes back only when Alipay knows no
// such refund.
TEST_F(RefundQuery, ARefusalOfARefundAlipayAlreadyMadeConfirmsIt) {
  const std::string id = requested("refused-but-made");
  made_at_alipay(id);
  fault({{"kind", "business_error"}, {"sub_code", "ACQ.TRADE_HAS_FINISHED"}}, kRefund);
  auto r = send(refund(id));
  EXPECT_EQ(r.status, jobs::ItemStatus::Done) << r.detail;
  EXPECT_EQ(refund(id).status, RefundStatus::Succeeded) << r.detail;
  EXPECT_EQ(w.order(id).state, OrderState::Refunded);
  EXPECT_EQ(w.quota_of("refused-but-made"), 0) << "the money went back, so the quota stays revoked";
  EXPECT_EQ(refund_count(id), 1);
}

TEST_F(RefundQuery, ARefusalIsFinalOnlyWhenTheQuerySaysNoSuchRefund) {
  const std::string id = requested("refused-unclear");
  fault({{"kind", "business_error"}, {"sub_code", "ACQ.TRADE_HAS_FINISHED"}}, kRefund);
  fault({{"kind", "http_error"}}, kRefundQuery);
  auto r = send(refund(id));
  EXPECT_EQ(r.status, jobs::ItemStatus::Unclear) << r.detail;
  EXPECT_EQ(refund(id).status, RefundStatus::Requested);
  EXPECT_EQ(w.quota_of("refused-unclear"), 0) << "held back while undecided";
  // Alipay really refuses it (the trade is finished) and the query knows no refund: failed.
  w.trade(id, "TRADE_FINISHED");
  auto final_answer = send(refund(id));
  EXPECT_EQ(final_answer.status, jobs::ItemStatus::Done) << final_answer.detail;
  EXPECT_EQ(refund(id).status, RefundStatus::Failed);
  EXPECT_EQ(w.quota_of("refused-unclear"), kQuota);
}

// Two deciders (the job and an admin) read the refund as requested; one failed it for good, the
// other then hears that Alipay refunded after all. Loud, counted, never "decided meanwhile".
TEST_F(RefundQuery, MoneyThatMovedAfterTheRefundFailedIsReportedLoudly) {
  const std::string id = requested("both");
  const store::Refund stale = refund(id);
  ASSERT_EQ(
      w.store().refunds().fail(id, core::Cause::Admin, "ACQ.TRADE_HAS_FINISHED", w.clock.now()),
      store::RefundDecision::Applied);
  ASSERT_EQ(w.quota_of("both"), kQuota);
  auto& flagged = jobs::JobMetrics::global().refunds("succeeded_after_failure");
  const double before = flagged.value();
  auto r = send(stale);
  EXPECT_EQ(r.status, jobs::ItemStatus::Done) << r.detail;
  EXPECT_NE(r.detail.find("after it was recorded failed"), std::string::npos) << r.detail;
  EXPECT_EQ(flagged.value(), before + 1);
  EXPECT_NE(w.events(id).back().detail.find("after it was recorded failed"), std::string::npos);
}

// Confirmation needs the money to match: the query's refund_amount is this refund's amount, a
// refund answer's refund_fee (the trade's refunded total) at least that.
TEST_F(RefundQuery, AQueryReportingAnotherAmountConfirmsNothing) {
  const std::string id = requested("partial");
  made_at_alipay(id);
  w.clock.advance(2min);
  fault({{"kind", "set_field"}, {"field", "refund_amount"}, {"value", "0.01"}}, kRefundQuery);
  auto r = w.tick(job);
  EXPECT_EQ(r.unclear, 1);
  EXPECT_EQ(refund(id).status, RefundStatus::Requested);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
  EXPECT_NE(refund(id).last_error.find("1 fen"), std::string::npos) << refund(id).last_error;
  w.clock.advance(10min);
  EXPECT_EQ(w.tick(job).done, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Refunded);
}

TEST_F(RefundQuery, ARefundFeeBelowTheRefundConfirmsNothing) {
  const std::string id = requested("short");
  fault({{"kind", "set_field"}, {"field", "refund_fee"}, {"value", "0.01"}}, kRefund);
  auto r = send(refund(id));
  EXPECT_EQ(r.status, jobs::ItemStatus::Unclear) << r.detail;
  EXPECT_EQ(refund(id).status, RefundStatus::Requested);
  EXPECT_EQ(w.order(id).state, OrderState::Delivered);
}

// fund_change N with no money moved is no confirmation: the query finds no refund, nothing is
// decided, and the next run sends it (once).
TEST_F(RefundQuery, FundChangeNWithoutARefundConfirmsNothing) {
  const std::string id = requested("no-change");
  fault({{"kind", "no_fund_change"}}, kRefund);
  auto r = send(refund(id));
  EXPECT_EQ(r.status, jobs::ItemStatus::Unclear) << r.detail;
  EXPECT_EQ(refund(id).status, RefundStatus::Requested);
  EXPECT_EQ(refund_count(id), 0);
  w.clock.advance(2min);
  EXPECT_EQ(w.tick(job).done, 1);
  EXPECT_EQ(w.order(id).state, OrderState::Refunded);
  EXPECT_EQ(refund_count(id), 1);
}

// Signed answers that do not say they are about this refund decide nothing.
TEST_F(RefundQuery, AnswersWithoutTheEchoedFieldsDecideNothing) {
  const std::string id = requested("echo");
  made_at_alipay(id);
  w.clock.advance(2min);
  for (const char* field : {"out_request_no", "out_trade_no"}) {
    SCOPED_TRACE(field);
    fault({{"kind", "omit_field"}, {"field", field}}, kRefundQuery);
    EXPECT_EQ(settle(refund(id)).status, jobs::ItemStatus::Unclear);
    EXPECT_EQ(refund(id).status, RefundStatus::Requested);
  }
  fault({{"kind", "set_field"}, {"field", "trade_no"}, {"value", "2099010122001400000000000001"}},
        kRefundQuery);
  EXPECT_EQ(settle(refund(id)).status, jobs::ItemStatus::Unclear) << "about another trade_no";
  EXPECT_EQ(refund(id).status, RefundStatus::Requested);
  EXPECT_EQ(settle(refund(id)).status, jobs::ItemStatus::Done) << "the genuine answer decides";
  EXPECT_EQ(w.order(id).state, OrderState::Refunded);

  const std::string fresh = requested("echo-fresh");
  fault({{"kind", "omit_field"}, {"field", "out_trade_no"}}, kRefund);
  auto r = send(refund(fresh));
  EXPECT_EQ(r.status, jobs::ItemStatus::Unclear) << "a fund_change Y that names no trade";
  EXPECT_EQ(refund(fresh).status, RefundStatus::Requested);
}

}  // namespace
}  // namespace chatglmd::testing
