#pragma once
#include "jobs/job.hpp"

namespace chatglmd::jobs {

// CREATED orders older than `after` (30m): close at the gateway first, then here. Never closes
// an order the gateway says is paid: that order becomes PAID and is delivered.
class TimeoutCloseJob final : public Job {
 public:
  std::string_view name() const override { return "timeout-close"; }
  std::string_view summary() const override {
    return "close unpaid orders at Alipay, then locally";
  }
  JobSettings defaults() const override;
  std::vector<core::Order> select_due(JobContext& ctx, std::int64_t after_id, int limit) override;
  store::OrderRepository::Backlog backlog(JobContext& ctx) override;
  ItemResult handle(JobContext& ctx, const core::Order& order) override;
};

}  // namespace chatglmd::jobs
