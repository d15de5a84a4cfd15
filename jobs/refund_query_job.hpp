#pragma once
#include "jobs/job.hpp"

namespace chatglmd::jobs {

// Requested refunds older than `after` (1m, so an admin call still in flight is left alone)
// whose answer was unclear or never came (a crash between the gateway call and the commit), and
// those the late-payment policy requested: ask Alipay and decide, with backoff until decided.
// Items are the refunds' orders; the item id is the refund row id (the runner pages by it).
class RefundQueryJob final : public Job {
 public:
  std::string_view name() const override { return "refund-query"; }
  std::string_view summary() const override {
    return "finish refunds whose answer was unclear or never came";
  }
  JobSettings defaults() const override;
  std::vector<core::Order> select_due(JobContext& ctx, std::int64_t after_id, int limit) override;
  store::OrderRepository::Backlog backlog(JobContext& ctx) override;
  ItemResult handle(JobContext& ctx, const core::Order& order) override;
  void record_failure(JobContext& ctx, const core::Order& order, const std::string& error,
                      core::UtcMs next_attempt_at) override;
};

}  // namespace chatglmd::jobs
