#include "jobs/refund_query_job.hpp"

#include "jobs/refunds.hpp"

namespace chatglmd::jobs {

JobSettings RefundQueryJob::defaults() const {
  JobSettings s;
  s.interval = std::chrono::minutes(1);
  s.after = std::chrono::minutes(1);
  return s;
}

std::vector<core::Order> RefundQueryJob::select_due(JobContext& ctx, std::int64_t after_id,
                                                    int limit) {
  const auto now = ctx.clock.now();
  std::vector<core::Order> items;
  for (const auto& refund :
       ctx.store.refunds().due(now - ctx.settings.after, now, after_id, limit)) {
    auto order = ctx.store.orders().get(refund.order_id);
    if (!order) continue;
    // The runner pages by id and backs off by attempts: both are the refund's.
    order->id = refund.id;
    order->attempts = refund.attempts;
    order->next_attempt_at = refund.next_attempt_at;
    order->last_error = refund.last_error;
    items.push_back(std::move(*order));
  }
  return items;
}

store::OrderRepository::Backlog RefundQueryJob::backlog(JobContext& ctx) {
  return ctx.store.refunds().backlog(ctx.clock.now() - ctx.settings.after);
}

ItemResult RefundQueryJob::handle(JobContext& ctx, const core::Order& order) {
  auto refund = ctx.store.refunds().get(order.order_id);
  if (!refund || refund->status != core::RefundStatus::Requested)
    return {ItemStatus::Skipped, "decided meanwhile"};
  if (ctx.dry_run) return describe_refund_for_dry_run(ctx, *refund);
  return settle_refund(ctx, *refund, core::Cause::RefundQuery);
}

void RefundQueryJob::record_failure(JobContext& ctx, const core::Order& order,
                                    const std::string& error, core::UtcMs next_attempt_at) {
  ctx.write([&] { ctx.store.refunds().record_failure(order.order_id, error, next_attempt_at); });
}

}  // namespace chatglmd::jobs
