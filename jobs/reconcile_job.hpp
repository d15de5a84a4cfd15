#pragma once
#include "jobs/job.hpp"

namespace chatglmd::jobs {

// CREATED orders older than `after` (1m) and not yet overdue for closing: ask Alipay, because
// a notify can be lost. Paid -> PAID + deliver; TRADE_CLOSED -> CLOSED; otherwise leave.
class ReconcileJob final : public Job {
 public:
  std::string_view name() const override { return "reconcile"; }
  std::string_view summary() const override {
    return "ask Alipay about orders whose notify has not come";
  }
  JobSettings defaults() const override;
  std::vector<core::Order> select_due(JobContext& ctx, std::int64_t after_id, int limit) override;
  store::OrderRepository::Backlog backlog(JobContext& ctx) override;
  ItemResult handle(JobContext& ctx, const core::Order& order) override;
};

}  // namespace chatglmd::jobs
