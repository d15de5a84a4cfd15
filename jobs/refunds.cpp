#include "jobs/refunds.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "jobs/job_metrics.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::jobs {
namespace {

using QueryKind = pay::RefundQueryResult::Kind;

pay::RefundRequest gateway_request(const store::Refund& r) {
  return pay::RefundRequest{r.order_id, r.refund_id, r.amount, r.reason};
}

ItemResult confirm(JobContext& ctx, const store::Refund& refund, core::Cause cause,
                   const std::string& detail) {
  switch (ctx.store.refunds().confirm(refund.order_id, cause, detail, ctx.clock.now())) {
    case store::RefundDecision::Applied:
      JobMetrics::global().refunds("succeeded").inc();
      JobMetrics::global().refunded_fen().inc(static_cast<double>(refund.amount.value));
      spdlog::info("order {} refunded: {} fen ({})", refund.order_id, refund.amount.value, detail);
      return {ItemStatus::Done, "refunded: " + detail};
    case store::RefundDecision::AlreadyDecided:
      return {ItemStatus::Skipped, "decided meanwhile"};
    case store::RefundDecision::UnknownRefund:
      break;
  }
  return {ItemStatus::Skipped, "refund vanished"};
}

ItemResult fail(JobContext& ctx, const store::Refund& refund, core::Cause cause,
                const std::string& detail) {
  switch (ctx.store.refunds().fail(refund.order_id, cause, detail, ctx.clock.now())) {
    case store::RefundDecision::Applied:
      JobMetrics::global().refunds("failed").inc();
      spdlog::warn("order {}: refund {} refused for good ({}); {} quota given back",
                   refund.order_id, refund.refund_id, detail, refund.quota_revoked);
      return {ItemStatus::Done, "refund failed for good: " + detail};
    case store::RefundDecision::AlreadyDecided:
      return {ItemStatus::Skipped, "decided meanwhile"};
    case store::RefundDecision::UnknownRefund:
      break;
  }
  return {ItemStatus::Skipped, "refund vanished"};
}

ItemResult unclear(std::string detail) {
  JobMetrics::global().refunds("unclear").inc();
  return {ItemStatus::Unclear, std::move(detail)};
}

std::string describe_success(const store::Refund& refund, core::Fen reported,
                             std::string_view how) {
  if (reported == refund.amount) return std::string(how);
  // Confirmed is confirmed; a different figure is kept in the audit row for the books.
  spdlog::error("order {}: Alipay reports {} fen refunded, the refund was {} fen", refund.order_id,
                reported.value, refund.amount.value);
  return fmt::format("{} (Alipay reports {} fen)", how, reported.value);
}

}  // namespace

ItemResult send_refund(JobContext& ctx, const store::Refund& refund, core::Cause cause) {
  using Kind = pay::RefundResult::Kind;
  const auto sent = ctx.gateway.refund(gateway_request(refund));
  switch (sent.kind) {
    case Kind::Refunded:
      return confirm(ctx, refund, cause,
                     describe_success(refund, sent.refund_fee, "fund_change=Y"));
    case Kind::NoFundChange: {
      // What a resend of a refund already made answers: confirm it with the query.
      const auto q = ctx.gateway.refund_query(refund.order_id, refund.refund_id);
      if (q.kind == QueryKind::Succeeded)
        return confirm(ctx, refund, cause,
                       describe_success(refund, q.refund_amount, "fund_change=N, REFUND_SUCCESS"));
      return unclear(fmt::format("fund_change=N and the query said {}", q.detail));
    }
    case Kind::Refused:
      return fail(ctx, refund, cause, sent.detail);
    case Kind::Unclear:
      break;
  }
  return unclear(fmt::format("refund unclear: {}", sent.detail));
}

ItemResult settle_refund(JobContext& ctx, const store::Refund& refund, core::Cause cause) {
  const auto q = ctx.gateway.refund_query(refund.order_id, refund.refund_id);
  switch (q.kind) {
    case QueryKind::Succeeded:
      return confirm(ctx, refund, cause,
                     describe_success(refund, q.refund_amount, "REFUND_SUCCESS"));
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
  const auto q = ctx.gateway.refund_query(refund.order_id, refund.refund_id);
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
