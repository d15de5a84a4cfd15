#include "jobs/timeout_close_job.hpp"

#include <fmt/format.h>

#include "jobs/settle_from_gateway.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::jobs {

JobSettings TimeoutCloseJob::defaults() const {
  JobSettings s;
  s.interval = std::chrono::minutes(1);
  s.after = std::chrono::minutes(30);
  return s;
}

std::vector<core::Order> TimeoutCloseJob::select_due(JobContext& ctx, std::int64_t after_id,
                                                     int limit) {
  auto now = ctx.clock.now();
  return ctx.store.orders().due_created(core::UtcMs{0}, now - ctx.settings.after, now, after_id,
                                        limit);
}

store::OrderRepository::Backlog TimeoutCloseJob::backlog(JobContext& ctx) {
  return ctx.store.orders().backlog_created(core::UtcMs{0}, ctx.clock.now() - ctx.settings.after);
}

ItemResult TimeoutCloseJob::handle(JobContext& ctx, const core::Order& order) {
  if (ctx.dry_run) {
    // A dry run may ask, but closing is a change at the gateway: report what a tick would do.
    auto q = ctx.gateway.query(order.order_id);
    return describe_query_for_dry_run(q, "close");
  }
  return close_via_gateway(ctx, order, core::Cause::TimeoutClose);
}

}  // namespace chatglmd::jobs
