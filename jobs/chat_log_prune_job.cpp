#include "jobs/chat_log_prune_job.hpp"

#include <fmt/format.h>

namespace chatglmd::jobs {

JobSettings ChatLogPruneJob::defaults() const {
  JobSettings s;
  s.interval = std::chrono::hours(1);
  s.after = std::chrono::minutes(0);  // unused: the age comes from [chat] log_days
  s.concurrency = 1;
  return s;
}

std::vector<core::Order> ChatLogPruneJob::select_due(JobContext& ctx, std::int64_t after_id,
                                                     int limit) {
  if (after_id != 0 || limit < 1) return {};  // one item per tick
  if (backlog(ctx).count == 0) return {};
  core::Order item;
  item.id = 1;
  item.order_id = "chat_log";
  return {item};
}

store::OrderRepository::Backlog ChatLogPruneJob::backlog(JobContext& ctx) {
  return ctx.store.chat_log().backlog(ctx.clock.now() - ctx.chat_log_keep);
}

ItemResult ChatLogPruneJob::handle(JobContext& ctx, const core::Order&) {
  const auto before = ctx.clock.now() - ctx.chat_log_keep;
  if (ctx.dry_run) {
    return {ItemStatus::Done,
            fmt::format("would remove {} rows", ctx.store.chat_log().backlog(before).count)};
  }
  std::int64_t removed = 0;
  for (;;) {
    const auto n = ctx.store.chat_log().prune(before, kPruneChunk);
    removed += n;
    if (n < kPruneChunk || ctx.stop_requested()) break;
  }
  return {ItemStatus::Done, fmt::format("removed {} rows", removed)};
}

}  // namespace chatglmd::jobs
