#include "jobs/reconcile_job.hpp"

#include "jobs/settle_from_gateway.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::jobs {

JobSettings ReconcileJob::defaults() const {
  JobSettings s;
  s.interval = std::chrono::minutes(1);
  s.after = std::chrono::minutes(1);
  return s;
}

std::vector<core::Order> ReconcileJob::select_due(JobContext& ctx, std::int64_t after_id,
                                                  int limit) {
  auto now = ctx.clock.now();
  // Overdue orders belong to timeout-close, which asks the gateway itself.
  return ctx.store.orders().due_created(now - ctx.close_after + core::Millis{1},
                                        now - ctx.settings.after, now, after_id, limit);
}

store::OrderRepository::Backlog ReconcileJob::backlog(JobContext& ctx) {
  auto now = ctx.clock.now();
  return ctx.store.orders().backlog_created(now - ctx.close_after + core::Millis{1},
                                            now - ctx.settings.after);
}

ItemResult ReconcileJob::handle(JobContext& ctx, const core::Order& order) {
  auto q = ctx.gateway.query(order.order_id);
  if (ctx.dry_run) return describe_query_for_dry_run(q, "leave it waiting");
  return settle_from_query(ctx, order, core::Cause::Reconcile, q, /*close_if_not_exist=*/false);
}

}  // namespace chatglmd::jobs
