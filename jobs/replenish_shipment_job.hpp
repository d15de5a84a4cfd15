#pragma once
#include "jobs/job.hpp"

namespace chatglmd::jobs {

// PAID orders whose delivery did not happen within `after` (3m), e.g. the process died between
// PAID and delivery: deliver again. Delivery is one transaction, so never twice.
class ReplenishShipmentJob final : public Job {
 public:
  std::string_view name() const override { return "replenish-shipment"; }
  std::string_view summary() const override {
    return "deliver paid orders whose delivery was lost";
  }
  JobSettings defaults() const override;
  std::vector<core::Order> select_due(JobContext& ctx, std::int64_t after_id, int limit) override;
  store::OrderRepository::Backlog backlog(JobContext& ctx) override;
  ItemResult handle(JobContext& ctx, const core::Order& order) override;
};

}  // namespace chatglmd::jobs
