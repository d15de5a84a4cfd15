#include "jobs/runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <random>
#include <thread>

#include "jobs/backoff.hpp"
#include "jobs/job_metrics.hpp"

namespace chatglmd::jobs {
namespace {

std::string_view item_outcome_name(ItemStatus s) {
  switch (s) {
    case ItemStatus::Done: return "done";
    case ItemStatus::Unclear: return "unclear";
    case ItemStatus::Skipped: return "skipped";
  }
  return "unclear";
}

// Handles one batch with at most `concurrency` orders in flight towards the gateway.
void handle_batch(Job& job, JobContext& ctx, const std::vector<core::Order>& batch,
                  TickReport& report, JobMetrics& metrics) {
  std::mutex mutex;
  std::size_t next = 0;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto worker = [&] {
    for (;;) {
      const core::Order* order = nullptr;
      {
        std::lock_guard lock(mutex);
        if (next >= batch.size() || ctx.stop_requested()) return;
        order = &batch[next++];
      }
      ItemResult r;
      try {
        r = job.handle(ctx, *order);
      } catch (const std::exception& e) {
        // One bad order never blocks the batch: it is retried later like any unclear answer.
        r = {ItemStatus::Unclear, fmt::format("internal error: {}", e.what())};
      }
      if (r.status == ItemStatus::Unclear && !ctx.dry_run) {
        std::uniform_real_distribution<double> jitter(0.0, 1.0);
        auto when = ctx.clock.now() + backoff_delay(order->attempts + 1, jitter(rng));
        ctx.store.orders().record_failure(order->order_id, r.detail, when);
      }
      metrics.items(job.name(), item_outcome_name(r.status)).inc();
      spdlog::log(r.status == ItemStatus::Unclear ? spdlog::level::warn : spdlog::level::info,
                  "{}{}: order {} {}: {}", job.name(), ctx.dry_run ? " (dry run)" : "", order->order_id,
                  item_outcome_name(r.status), r.detail);
      std::lock_guard lock(mutex);
      (r.status == ItemStatus::Done ? report.done
       : r.status == ItemStatus::Skipped ? report.skipped
                                          : report.unclear)++;
    }
  };
  const int n = std::max(1, std::min<int>(ctx.settings.concurrency, static_cast<int>(batch.size())));
  std::vector<std::thread> workers;
  for (int i = 1; i < n; ++i) workers.emplace_back(worker);
  worker();
  for (auto& w : workers) w.join();
}

}  // namespace

TickReport run_tick(Job& job, JobContext& ctx, const TickOptions& options) {
  JobMetrics& metrics = ctx.metrics ? *ctx.metrics : JobMetrics::global();
  const std::string name(job.name());
  TickReport report;
  report.started_at = ctx.clock.now();
  auto& leases = ctx.store.jobs();
  if (!leases.try_acquire(name, options.owner, report.started_at, report.started_at + ctx.settings.lease)) {
    report.lease_held_elsewhere = true;
    report.outcome = "skipped";
    report.finished_at = ctx.clock.now();
    metrics.lease(name, "skipped").inc();
    metrics.runs(name, "skipped").inc();
    return report;
  }
  metrics.lease(name, "acquired").inc();

  std::int64_t after_id = 0;
  const auto deadline = report.started_at + ctx.settings.budget;
  for (;;) {
    if (ctx.stop_requested() || ctx.clock.now() >= deadline) break;
    int want = ctx.settings.batch;
    if (options.limit > 0) want = std::min(want, options.limit - report.selected);
    if (want <= 0) break;
    auto batch = job.select_due(ctx, after_id, want);
    if (batch.empty()) break;
    report.selected += static_cast<int>(batch.size());
    handle_batch(job, ctx, batch, report, metrics);
    after_id = batch.back().id;
    // Renew: a crashed holder blocks others for at most one lease, a live one keeps it.
    auto now = ctx.clock.now();
    if (!leases.try_acquire(name, options.owner, now, now + ctx.settings.lease)) {
      spdlog::error("{}: lease lost mid-tick; stopping", name);
      break;
    }
  }
  leases.release(name, options.owner);

  report.finished_at = ctx.clock.now();
  report.outcome = report.unclear > 0 ? "partial" : "ok";
  auto backlog = job.backlog(ctx);
  metrics.backlog(name).set(static_cast<double>(backlog.count));
  metrics.oldest_due_seconds(name).set(
      backlog.oldest ? static_cast<double>((report.finished_at - *backlog.oldest).count()) / 1000.0 : 0.0);
  metrics.tick_seconds(name).observe(
      static_cast<double>((report.finished_at - report.started_at).count()) / 1000.0);
  metrics.runs(name, report.outcome).inc();
  if (!ctx.dry_run) {
    ctx.store.jobs().record_run(store::JobRunRow{0, name, options.owner, report.started_at,
                                                 report.finished_at, report.outcome, report.selected,
                                                 report.done, report.unclear, report.skipped, ""});
  }
  return report;
}

}  // namespace chatglmd::jobs
