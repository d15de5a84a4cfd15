#include "jobs/replenish_shipment_job.hpp"

#include "jobs/settlement.hpp"

namespace chatglmd::jobs {

JobSettings ReplenishShipmentJob::defaults() const {
  JobSettings s;
  s.interval = std::chrono::minutes(1);
  s.after = std::chrono::minutes(3);
  return s;
}

std::vector<core::Order> ReplenishShipmentJob::select_due(JobContext& ctx, std::int64_t after_id,
                                                          int limit) {
  auto now = ctx.clock.now();
  return ctx.store.orders().due_paid(now - ctx.settings.after, now, after_id, limit);
}

store::OrderRepository::Backlog ReplenishShipmentJob::backlog(JobContext& ctx) {
  return ctx.store.orders().backlog_paid(ctx.clock.now() - ctx.settings.after);
}

ItemResult ReplenishShipmentJob::handle(JobContext& ctx, const core::Order& order) {
  if (ctx.dry_run) return {ItemStatus::Done, "would deliver"};
  switch (deliver(ctx.store, order.order_id, core::Cause::ReplenishShipment, ctx.clock.now(),
                  ctx.writer())) {
    case store::DeliveryOutcome::Delivered:
      return {ItemStatus::Done, "delivered"};
    case store::DeliveryOutcome::AlreadyDelivered:
      return {ItemStatus::Skipped, "already delivered"};
    case store::DeliveryOutcome::NotPaid:
      return {ItemStatus::Skipped, "not paid"};
    case store::DeliveryOutcome::RefundPending:
      return {ItemStatus::Skipped, "its refund is under way"};
    case store::DeliveryOutcome::UnknownOrder:
      break;
  }
  return {ItemStatus::Skipped, "order vanished"};
}

}  // namespace chatglmd::jobs
