#include "jobs/refunds.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "jobs/job_metrics.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::jobs {
namespace {

using QueryKind = pay::RefundQueryResult::Kind;

// The order's trade_no goes along so an answer about another trade is not taken for ours.
pay::RefundRequest gateway_request(JobContext& ctx, const store::Refund& r) {
  pay::RefundRequest request{r.order_id, r.refund_id, r.amount, r.reason, {}};
  if (auto order = ctx.store.orders().get(r.order_id)) request.trade_no = order->trade_no;
  return request;
}

ItemResult unclear(std::string detail) {
  JobMetrics::global().refunds("unclear").inc();
  return {ItemStatus::Unclear, std::move(detail)};
}

ItemResult confirm(JobContext& ctx, const store::Refund& refund, core::Cause cause,
                   const std::string& detail) {
  store::RefundDecision decision = store::RefundDecision::UnknownRefund;
  ctx.write([&] {
    decision = ctx.store.refunds().confirm(refund.order_id, cause, detail, ctx.clock.now());
  });
  switch (decision) {
    case store::RefundDecision::Applied:
      JobMetrics::global().refunds("succeeded").inc();
      JobMetrics::global().refunded_fen().inc(static_cast<double>(refund.amount.value));
      spdlog::info("order {} refunded: {} fen ({})", refund.order_id, refund.amount.value, detail);
      return {ItemStatus::Done, "refunded: " + detail};
    case store::RefundDecision::AlreadyDecided:
      return {ItemStatus::Skipped, "decided meanwhile"};
    case store::RefundDecision::ConfirmedAfterFailure:
      // The books say failed and the quota went back, yet Alipay gave the money back: the user
      // holds both. Only a person can settle that; the audit row says what happened.
      JobMetrics::global().refunds("succeeded_after_failure").inc();
      spdlog::critical(
          "order {}: Alipay confirms refund {} ({}) which was recorded as failed for good and "
          "whose {} quota was given back; settle the account by hand",
          refund.order_id, refund.refund_id, detail, refund.quota_revoked);
      return {ItemStatus::Done, "refunded after it was recorded failed: " + detail};
    case store::RefundDecision::UnknownRefund:
      break;
  }
  return {ItemStatus::Skipped, "refund vanished"};
}

ItemResult fail(JobContext& ctx, const store::Refund& refund, core::Cause cause,
                const std::string& detail) {
  store::RefundDecision decision = store::RefundDecision::UnknownRefund;
  ctx.write([&] {
    decision = ctx.store.refunds().fail(refund.order_id, cause, detail, ctx.clock.now());
  });
  switch (decision) {
    case store::RefundDecision::Applied:
      JobMetrics::global().refunds("failed").inc();
      spdlog::warn("order {}: refund {} refused for good ({}); {} quota given back",
                   refund.order_id, refund.refund_id, detail, refund.quota_revoked);
      return {ItemStatus::Done, "refund failed for good: " + detail};
    case store::RefundDecision::AlreadyDecided:
    case store::RefundDecision::ConfirmedAfterFailure:
      return {ItemStatus::Skipped, "decided meanwhile"};
    case store::RefundDecision::UnknownRefund:
      break;
  }
  return {ItemStatus::Skipped, "refund vanished"};
}

// A figure that does not cover this refund confirms nothing: a partial refund, another refund of
// the trade, or a misread answer. The refund stays requested and a person is told.
ItemResult amount_disagrees(const store::Refund& refund, core::Fen reported, std::string_view how) {
  spdlog::error("order {}: {} reports {} fen refunded, the refund is {} fen; not confirming",
                refund.order_id, how, reported.value, refund.amount.value);
  return unclear(fmt::format("{} reports {} fen, the refund is {} fen", how, reported.value,
                             refund.amount.value));
}

// REFUND_SUCCESS confirms the refund only for exactly its amount (the query is per request).
ItemResult confirm_from_query(JobContext& ctx, const store::Refund& refund, core::Cause cause,
                              const pay::RefundQueryResult& q, std::string_view how) {
  if (q.refund_amount != refund.amount) return amount_disagrees(refund, q.refund_amount, how);
  return confirm(ctx, refund, cause, std::string(how));
}

}  // namespace

ItemResult send_refund(JobContext& ctx, const store::Refund& refund, core::Cause cause) {
  using Kind = pay::RefundResult::Kind;
  const auto request = gateway_request(ctx, refund);
  const auto sent = ctx.gateway.refund(request);
  switch (sent.kind) {
    case Kind::Refunded:
      // refund_fee is the trade's refunded total: at least this refund when it was made.
      if (sent.refund_fee < refund.amount)
        return amount_disagrees(refund, sent.refund_fee, "fund_change=Y refund_fee");
      return confirm(ctx, refund, cause, "fund_change=Y");
    case Kind::NoFundChange: {
      // What a resend of a refund already made answers: confirm it with the query.
      const auto q = ctx.gateway.refund_query(request);
      if (q.kind == QueryKind::Succeeded)
        return confirm_from_query(ctx, refund, cause, q, "fund_change=N, REFUND_SUCCESS");
      return unclear(fmt::format("fund_change=N and the query said {}", q.detail));
    }
    case Kind::Refused: {
      // A refusal is an error answer, which names no trade: it may answer another call, or come
      // after an earlier send that did refund. Only a query that knows no such refund makes it
      // final (and gives the quota back).
      const auto q = ctx.gateway.refund_query(request);
      if (q.kind == QueryKind::Succeeded)
        return confirm_from_query(ctx, refund, cause, q, "refused, yet REFUND_SUCCESS");
      if (q.kind == QueryKind::NotRefunded) return fail(ctx, refund, cause, sent.detail);
      return unclear(fmt::format("refused ({}) and the query said {}", sent.detail, q.detail));
    }
    case Kind::Unclear:
      break;
  }
  return unclear(fmt::format("refund unclear: {}", sent.detail));
}

ItemResult settle_refund(JobContext& ctx, const store::Refund& refund, core::Cause cause) {
  const auto q = ctx.gateway.refund_query(gateway_request(ctx, refund));
  switch (q.kind) {
    case QueryKind::Succeeded:
      return confirm_from_query(ctx, refund, cause, q, "REFUND_SUCCESS");
    case QueryKind::NotRefunded:
      // Alipay never got it (a crash or timeout before the request arrived) or has not made it:
      // the same out_request_no again cannot refund twice, and it decides what a query cannot.
      return send_refund(ctx, refund, cause);
    case QueryKind::Unclear:
      break;
  }
  return unclear(fmt::format("refund query unclear: {}", q.detail));
}

ItemResult describe_refund_for_dry_run(JobContext& ctx, const store::Refund& refund) {
  const auto q = ctx.gateway.refund_query(gateway_request(ctx, refund));
  switch (q.kind) {
    case QueryKind::Succeeded:
      return {ItemStatus::Done, "would mark REFUNDED (REFUND_SUCCESS)"};
    case QueryKind::NotRefunded:
      return {ItemStatus::Done, "would send the refund again (" + q.detail + ")"};
    case QueryKind::Unclear:
      break;
  }
  return {ItemStatus::Unclear, fmt::format("refund query unclear: {}", q.detail)};
}

}  // namespace chatglmd::jobs
