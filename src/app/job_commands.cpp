// jobs list / history / run: the cron face of the scheduler.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/context.hpp"
#include "app/durations.hpp"
#include "app/output.hpp"
#include "app/store_access.hpp"
#include "jobs/registry.hpp"
#include "jobs/runner.hpp"
#include "pay/no_payment_gateway.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::app {
namespace {

Record run_record(const store::JobRunRow& r, bool json) {
  const auto ms = (r.finished_at - r.started_at).count();
  // People read "0.003s"; scripts get the number (a double would print as 3E-3 in a table).
  return {{"id", r.id},
          {"job", r.name.c_str()},
          {"started", utc_time_value(r.started_at)},
          {"seconds",
           json ? boost::json::value(static_cast<double>(ms) / 1000.0)
                : boost::json::value(fmt::format("{:.3f}s", static_cast<double>(ms) / 1000.0))},
          {"outcome", r.outcome.c_str()},
          {"selected", r.selected},
          {"done", r.succeeded},
          {"unclear", r.failed},
          {"skipped", r.skipped},
          {"owner", r.owner.c_str()}};
}

// Cron's convention: nothing on stdout or stderr when all went well (cron mails any output),
// the reason on stderr when not.
int run_job(CommandContext& ctx, jobs::Job& job) {
  const bool verbose = ctx.inv.flags.count("verbose") > 0;
  // Per-order info lines are progress, not news: shown with --verbose or an explicit level.
  if (!verbose && !ctx.inv.log_level && spdlog::get_level() < spdlog::level::warn)
    spdlog::set_level(spdlog::level::warn);
  int limit = 0;
  if (ctx.inv.flags.count("limit")) {
    auto n = limit_flag(ctx);
    if (!n) return usage_error(ctx, "--limit must be a whole number > 0");
    limit = *n;
  }
  store::Store* s = ctx.open_store();
  if (!s) return kExitUsage;
  pay::NoPaymentGateway no_gateway;
  pay::PaymentGateway* gateway = &no_gateway;
  if (job.needs_payment_gateway()) {
    gateway = ctx.open_gateway();
    if (!gateway) return kExitUsage;
  }
  jobs::JobContext jc{ctx.clock, *s, *gateway, ctx.config.jobs.at(std::string(job.name()))};
  jc.close_after = ctx.config.jobs.at("timeout-close").after;
  jc.late_payment = ctx.config.alipay.late_payment;
  jc.chat_log_keep = std::chrono::hours(24) * ctx.config.chat.log_days;
  jc.dry_run = ctx.inv.flags.count("dry-run") > 0;
  // `jobs run` works even when the job is disabled for the scheduler (cron-only hosts).
  auto report = jobs::run_tick(job, jc, {ctx.lease_owner("cron"), limit});
  if (report.lease_held_elsewhere) {
    ctx.err << fmt::format("chatglmd: {} is running elsewhere (lease held); skipped\n", job.name());
  } else if (report.failed) {
    ctx.err << fmt::format("chatglmd: {}: tick failed: {}\n", job.name(),
                           with_store_access(report.error, ctx.config.store.path));
  } else if (report.unclear > 0) {
    ctx.err << fmt::format(
        "chatglmd: {}: {} of {} orders unclear (left unchanged, retried later with backoff)\n",
        job.name(), report.unclear, report.selected);
  }
  if (!verbose && !ctx.inv.json) return report.exit_code();
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
    if (!s) return kExitUsage;
    std::vector<Record> rows;
    for (const auto& job : registry) {
      const auto& settings = ctx.config.jobs.at(std::string(job->name()));
      auto last = s->jobs().last_run(std::string(job->name()));
      // A job that never ran has no next time of its own: the scheduler starts it shortly after
      // serve starts (and not at all when disabled, where cron's `jobs run` takes over).
      // JSON says null (lastRun null tells why); the table says it in words.
      boost::json::value next = nullptr;
      if (settings.enabled && last) {
        next = utc_time_value(last->finished_at + settings.interval);
      } else if (settings.enabled && !ctx.inv.json) {
        next = "never run: when serve starts";
      }
      rows.push_back(
          {{"job", std::string(job->name()).c_str()},
           {"enabled", settings.enabled},
           {"interval", format_duration(settings.interval).c_str()},
           {"after", format_duration(settings.after).c_str()},
           {"batch", settings.batch},
           {"concurrency", settings.concurrency},
           {"lastRun", utc_time_value(last ? std::optional(last->started_at) : std::nullopt)},
           {"lastOutcome", last ? boost::json::value(last->outcome) : boost::json::value(nullptr)},
           {"nextRun", next},
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
    if (!s) return kExitUsage;
    std::vector<Record> rows;
    for (const auto& r : s->jobs().history(name, limit))
      rows.push_back(run_record(r, ctx.inv.json));
    print_table(ctx.out, rows, ctx.inv.json);
    return kExitOk;
  }
  if (sub == "run") {
    if (auto e = check_shape(ctx.inv, 3, 3, {"dry-run", "limit", "verbose"}); !e.empty())
      return usage_error(ctx, e);
    jobs::Job* job = jobs::find_job(registry, w[2]);
    if (!job) return usage_error(ctx, fmt::format("unknown job '{}'", w[2]));
    return run_job(ctx, *job);
  }
  return usage_error(ctx, "jobs takes list, history or run");
}

}  // namespace chatglmd::app
