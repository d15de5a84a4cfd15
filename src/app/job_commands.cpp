// jobs list / history / run: the cron face of the scheduler.
#include <fmt/format.h>

#include "app/context.hpp"
#include "app/durations.hpp"
#include "app/output.hpp"
#include "jobs/registry.hpp"
#include "jobs/runner.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::app {
namespace {

Record run_record(const store::JobRunRow& r) {
  return {{"id", r.id},
          {"job", r.name.c_str()},
          {"started", utc_time_value(r.started_at)},
          {"seconds", static_cast<double>((r.finished_at - r.started_at).count()) / 1000.0},
          {"outcome", r.outcome.c_str()},
          {"selected", r.selected},
          {"done", r.succeeded},
          {"unclear", r.failed},
          {"skipped", r.skipped},
          {"owner", r.owner.c_str()}};
}

int run_job(CommandContext& ctx, jobs::Job& job) {
  int limit = 0;
  if (ctx.inv.flags.count("limit")) {
    auto n = limit_flag(ctx);
    if (!n) return usage_error(ctx, "--limit must be a whole number > 0");
    limit = *n;
  }
  store::Store* s = ctx.open_store();
  if (!s) return kExitUsage;
  pay::PaymentGateway* gateway = ctx.open_gateway();
  if (!gateway) return kExitUsage;
  jobs::JobContext jc{ctx.clock, *s, *gateway, ctx.config.jobs.at(std::string(job.name()))};
  jc.close_after = ctx.config.jobs.at("timeout-close").after;
  jc.late_payment = ctx.config.alipay.late_payment;
  jc.dry_run = ctx.inv.flags.count("dry-run") > 0;
  // `jobs run` works even when the job is disabled for the scheduler (cron-only hosts).
  auto report = jobs::run_tick(job, jc, {ctx.lease_owner("cron"), limit});
  if (report.lease_held_elsewhere) {
    ctx.err << fmt::format("chatglmd: {} is running elsewhere (lease held); skipped\n", job.name());
  }
  print_record(ctx.out,
               {{"job", std::string(job.name()).c_str()},
                {"outcome", report.outcome.c_str()},
                {"dryRun", jc.dry_run},
                {"selected", report.selected},
                {"done", report.done},
                {"unclear", report.unclear},
                {"skipped", report.skipped},
                {"exitCode", report.exit_code()}},
               ctx.inv.json);
  return report.exit_code();
}

}  // namespace

int run_jobs_command(CommandContext& ctx) {
  auto registry = jobs::make_jobs();
  const auto& w = ctx.inv.words;
  const std::string sub = w.size() > 1 ? w[1] : "";
  if (sub == "list") {
    if (auto e = check_shape(ctx.inv, 2, 2, {}); !e.empty()) return usage_error(ctx, e);
    store::Store* s = ctx.open_store();
    if (!s) return kExitFailed;
    std::vector<Record> rows;
    for (const auto& job : registry) {
      const auto& settings = ctx.config.jobs.at(std::string(job->name()));
      auto last = s->jobs().last_run(std::string(job->name()));
      std::optional<core::UtcMs> next;
      if (settings.enabled) next = last ? last->finished_at + settings.interval : ctx.clock.now();
      rows.push_back(
          {{"job", std::string(job->name()).c_str()},
           {"enabled", settings.enabled},
           {"interval", format_duration(settings.interval).c_str()},
           {"after", format_duration(settings.after).c_str()},
           {"batch", settings.batch},
           {"concurrency", settings.concurrency},
           {"lastRun", utc_time_value(last ? std::optional(last->started_at) : std::nullopt)},
           {"lastOutcome", last ? boost::json::value(last->outcome) : boost::json::value(nullptr)},
           {"nextRun", utc_time_value(next)},
           {"summary", std::string(job->summary()).c_str()}});
    }
    print_table(ctx.out, rows, ctx.inv.json);
    return kExitOk;
  }
  if (sub == "history") {
    if (auto e = check_shape(ctx.inv, 2, 3, {"limit"}); !e.empty()) return usage_error(ctx, e);
    std::string name = w.size() > 2 ? w[2] : "";
    if (!name.empty() && !jobs::find_job(registry, name))
      return usage_error(ctx, fmt::format("unknown job '{}'", name));
    int limit = 20;
    if (ctx.inv.flags.count("limit")) {
      auto n = limit_flag(ctx);
      if (!n) return usage_error(ctx, "--limit must be a whole number > 0");
      limit = *n;
    }
    store::Store* s = ctx.open_store();
    if (!s) return kExitFailed;
    std::vector<Record> rows;
    for (const auto& r : s->jobs().history(name, limit)) rows.push_back(run_record(r));
    print_table(ctx.out, rows, ctx.inv.json);
    return kExitOk;
  }
  if (sub == "run") {
    if (auto e = check_shape(ctx.inv, 3, 3, {"dry-run", "limit"}); !e.empty())
      return usage_error(ctx, e);
    jobs::Job* job = jobs::find_job(registry, w[2]);
    if (!job) return usage_error(ctx, fmt::format("unknown job '{}'", w[2]));
    return run_job(ctx, *job);
  }
  return usage_error(ctx, "jobs takes list, history or run");
}

}  // namespace chatglmd::app
