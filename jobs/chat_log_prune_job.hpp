#pragma once
#include "jobs/job.hpp"

namespace chatglmd::jobs {

// Removes usage log (chat_log) rows older than [chat] log_days. There are no orders here: a
// tick has one item, "chat_log", when old rows exist, and handles it by deleting them in small
// transactions (kPruneChunk rows each) so chats being logged meanwhile never wait long.
class ChatLogPruneJob final : public Job {
 public:
  static constexpr int kPruneChunk = 5000;

  std::string_view name() const override { return "chat-log-prune"; }
  std::string_view summary() const override {
    return "remove usage log rows older than [chat] log_days";
  }
  JobSettings defaults() const override;
  bool needs_payment_gateway() const override { return false; }
  std::vector<core::Order> select_due(JobContext& ctx, std::int64_t after_id, int limit) override;
  store::OrderRepository::Backlog backlog(JobContext& ctx) override;
  ItemResult handle(JobContext& ctx, const core::Order& order) override;
  // A failed prune is simply retried at the next tick: there is no order row to back off on.
  void record_failure(JobContext&, const core::Order&, const std::string&, core::UtcMs) override {}
};

}  // namespace chatglmd::jobs
