#include "jobs/runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "jobs/backoff.hpp"
#include "jobs/gateway_slots.hpp"
#include "jobs/job_metrics.hpp"
#include "store/store_error_log.hpp"

namespace chatglmd::jobs {
namespace {

std::string_view item_outcome_name(ItemStatus s) {
  switch (s) {
    case ItemStatus::Done:
      return "done";
    case ItemStatus::Unclear:
      return "unclear";
    case ItemStatus::Skipped:
      return "skipped";
  }
  return "unclear";
}

// Due orders flow through one queue: a worker that finds it running low selects the next page
// (ORDER BY id, after the last id taken) while the others keep working, so there is no barrier
// between batches and `concurrency` gateway calls stay in flight until nothing is due. The page
// is read outside the queue's lock, so a worker that still finds orders queued never waits for
// the store (which may be busy committing the others' outcomes).
class TickQueue {
 public:
  TickQueue(Job& job, JobContext& ctx, const TickOptions& options, TickReport& report)
      : job_(job),
        ctx_(ctx),
        options_(options),
        report_(report),
        deadline_(report.started_at + ctx.settings.budget),
        last_renewed_(report.started_at),
        claims_(claims_items(ctx)) {}

  // On a store several nodes share, due orders are claimed one page at a time instead of the
  // job being leased whole: every node's runner works the backlog at once. Not in a dry run,
  // which changes nothing and so takes the lease as on SQLite.
  static bool claims_items(const JobContext& ctx) {
    return !ctx.dry_run && ctx.store.jobs().claims_items();
  }

  // The next order to handle, or nothing when the tick is over.
  std::optional<core::Order> next(int workers) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (ctx_.stop_requested()) return std::nullopt;
      if (queue_.size() < static_cast<std::size_t>(workers) && !exhausted_ && !refilling_) {
        refilling_ = true;
        lock.unlock();
        auto page = read_page();
        lock.lock();
        refilling_ = false;
        append(std::move(page));
        refilled_.notify_all();
      }
      if (!queue_.empty()) {
        keep_lease();
        if (queue_.empty()) return std::nullopt;  // the lease was lost
        core::Order o = std::move(queue_.front());
        queue_.pop_front();
        return o;
      }
      if (exhausted_ && !refilling_) return std::nullopt;
      refilled_.wait(lock);  // another worker is reading the next page
    }
  }

  // Why the tick stopped early on a store error (empty when it did not).
  std::string error() {
    std::lock_guard lock(mutex_);
    return error_;
  }

  void count(ItemStatus s) {
    std::lock_guard lock(mutex_);
    (s == ItemStatus::Done      ? report_.done
     : s == ItemStatus::Skipped ? report_.skipped
                                : report_.unclear)++;
  }

 private:
  struct Page {
    std::vector<core::Order> orders;
    std::string error;  // a store error ended the tick
    bool last = false;  // nothing more is due (or the tick may take no more)
  };

  // A slow gateway can make a tick outlast the lease: renew it every third of its length while
  // orders are being handed out, so no other runner takes the job mid-tick, and a crashed
  // holder blocks others for at most one lease. Rare (every lease / 3), so done under the lock.
  void keep_lease() {
    if (claims_) return;  // each order is re-claimed as it is handed out (still_ours)
    auto now = ctx_.clock.now();
    if (now - last_renewed_ < ctx_.settings.lease / 3) return;
    try {
      if (ctx_.store.jobs().try_acquire(std::string(job_.name()), options_.owner, now,
                                        now + ctx_.settings.lease)) {
        last_renewed_ = now;
        return;
      }
      spdlog::error("{}: lease lost mid-tick; stopping", job_.name());
    } catch (const std::exception& e) {
      store::store_error_log().report(
          fmt::format("{}: renewing the lease, ending the tick", job_.name()), e.what());
      error_ = e.what();
    }
    queue_.clear();
    exhausted_ = true;
  }

  // Runs without the lock; only one worker at a time (refilling_), so after_id_ and the
  // selected count are its own until append().
  Page read_page() {
    Page page;
    if (ctx_.stop_requested() || ctx_.clock.now() >= deadline_) {
      page.last = true;
      return page;
    }
    int want = ctx_.settings.batch;
    if (options_.limit > 0) want = std::min(want, options_.limit - selected_);
    if (want <= 0) {
      page.last = true;
      return page;
    }
    // Runs on any worker thread: a store error (locked past the busy timeout, disk full) ends
    // the tick as failed instead of escaping the thread and ending the process.
    try {
      for (;;) {
        const std::int64_t from_id = after_id_;
        page.orders = job_.select_due(ctx_, from_id, want);
        if (page.orders.empty()) {
          page.last = true;
          return page;
        }
        after_id_ = page.orders.back().id;
        if (claims_) keep_claimed(page.orders, from_id, want);
        // A page all held by other nodes: read on past it rather than end the tick.
        if (!page.orders.empty() || ctx_.stop_requested() || ctx_.clock.now() >= deadline_) break;
      }
    } catch (const std::exception& e) {
      store::store_error_log().report(fmt::format("{}: ending the tick", job_.name()), e.what());
      page.error = e.what();
      page.last = true;
      return page;
    }
    selected_ += static_cast<int>(page.orders.size());
    return page;
  }

  // Keeps the orders this node could claim (for one lease length) and that are still due once
  // claimed. The page was read before the claim: another node may have handled an order in
  // between and released it (it releases only after its outcome committed), so the page is read
  // again under the claims and only what is still due, as it is now, stays.
  void keep_claimed(std::vector<core::Order>& orders, std::int64_t from_id, int want) {
    const std::string name(job_.name());
    std::vector<std::string> ids;
    for (const auto& o : orders) ids.push_back(o.order_id);
    const auto held = ctx_.store.jobs().claim(name, options_.owner, ids, ctx_.settings.lease);
    std::set<std::string> ours(held.begin(), held.end());
    orders.clear();
    if (ours.empty()) return;
    for (auto& o : job_.select_due(ctx_, from_id, want)) {
      if (ours.erase(o.order_id) != 0) orders.push_back(std::move(o));
    }
    for (const auto& gone : ours) ctx_.store.jobs().release_claims(name, options_.owner, gone);
  }

  void append(Page page) {
    if (!page.error.empty()) error_ = page.error;
    if (page.last) exhausted_ = true;
    report_.selected += static_cast<int>(page.orders.size());
    for (auto& o : page.orders) queue_.push_back(std::move(o));
  }

  Job& job_;
  JobContext& ctx_;
  const TickOptions& options_;
  TickReport& report_;
  const core::UtcMs deadline_;
  core::UtcMs last_renewed_;
  std::mutex mutex_;
  std::condition_variable refilled_;
  std::deque<core::Order> queue_;
  bool refilling_ = false;
  // Owned by the refilling worker (refilling_ keeps it to one at a time).
  std::int64_t after_id_ = 0;
  int selected_ = 0;
  bool exhausted_ = false;
  std::string error_;
  const bool claims_;
};

// Renews this node's claim on an order just before handling it. Only a claim still live is
// renewed, never taken again: one that ran out while the order waited in the queue may have been
// taken by another node, handled and given back in the meantime, so the order as queued is stale
// and handling it would handle it twice. Such an order is skipped; if it is still due, the next
// tick reads and claims it afresh.
bool still_ours(Job& job, JobContext& ctx, const TickOptions& options, const core::Order& order) {
  if (!TickQueue::claims_items(ctx)) return true;
  return ctx.store.jobs().renew_claim(std::string(job.name()), options.owner, order.order_id,
                                      ctx.settings.lease);
}

// Gives the order back once its outcome is committed, so a node that finds it due again (an
// unclear answer whose backoff ran out) may take it at once. A failure here only leaves the
// claim to expire.
void release_claim(Job& job, JobContext& ctx, const TickOptions& options,
                   const core::Order& order) {
  if (!TickQueue::claims_items(ctx)) return;
  try {
    ctx.store.jobs().release_claims(std::string(job.name()), options.owner, order.order_id);
  } catch (const std::exception& e) {
    spdlog::warn("{}: order {}: could not release its claim: {}", job.name(), order.order_id,
                 e.what());
  }
}

void work_through(Job& job, JobContext& ctx, const TickOptions& options, TickQueue& queue,
                  int workers, JobMetrics& metrics) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  while (auto order = queue.next(workers)) {
    bool ours = true;
    try {
      ours = still_ours(job, ctx, options, *order);
    } catch (const std::exception& e) {
      ours = false;  // unknown: leave it to whoever holds it, or to the next tick
      spdlog::warn("{}: order {}: could not renew its claim: {}", job.name(), order->order_id,
                   e.what());
    }
    if (!ours) {
      metrics.items(job.name(), item_outcome_name(ItemStatus::Skipped)).inc();
      queue.count(ItemStatus::Skipped);
      continue;
    }
    // For an operator following a slow tick (and for tests that must stop one mid-flight).
    spdlog::debug("{}: order {}: handling", job.name(), order->order_id);
    ItemResult r;
    try {
      r = job.handle(ctx, *order);
    } catch (const std::exception& e) {
      // One bad order never blocks the others: it is retried later like any unclear answer.
      r = {ItemStatus::Unclear, fmt::format("internal error: {}", e.what())};
    }
    if (r.status == ItemStatus::Unclear && !ctx.dry_run) {
      std::uniform_real_distribution<double> jitter(0.0, 1.0);
      auto when = ctx.clock.now() + backoff_delay(order->attempts + 1, jitter(rng));
      try {
        job.record_failure(ctx, *order, r.detail, when);
      } catch (const std::exception& e) {
        // Not recorded means due again at once: retried, never lost. Never let it end the thread.
        spdlog::error("{}: order {}: could not record the failure: {}", job.name(), order->order_id,
                      e.what());
      }
    }
    release_claim(job, ctx, options, *order);
    metrics.items(job.name(), item_outcome_name(r.status)).inc();
    spdlog::log(r.status == ItemStatus::Unclear ? spdlog::level::warn : spdlog::level::info,
                "{}{}: order {} {}: {}", job.name(), ctx.dry_run ? " (dry run)" : "",
                order->order_id, item_outcome_name(r.status), r.detail);
    queue.count(r.status);
  }
}

}  // namespace

namespace {

// The tick itself; a store error outside the order loop (taking or releasing the lease, the
// backlog, the job_run row) escapes it and run_tick() counts the tick as failed.
void run_tick_unguarded(Job& job, JobContext& ctx, const TickOptions& options, JobMetrics& metrics,
                        TickReport& report) {
  const std::string name(job.name());
  auto& leases = ctx.store.jobs();
  const bool claims = TickQueue::claims_items(ctx);
  if (!claims && !leases.try_acquire(name, options.owner, report.started_at,
                                     report.started_at + ctx.settings.lease)) {
    report.lease_held_elsewhere = true;
    report.outcome = "skipped";
    report.finished_at = ctx.clock.now();
    metrics.lease(name, "skipped").inc();
    metrics.runs(name, "skipped").inc();
    return;
  }
  if (!claims) metrics.lease(name, "acquired").inc();

  // The workers' outcomes share commits: one fsync for the calls that ended together, not a
  // queue of workers each waiting for its own (serve passes the daemon's committer).
  std::unique_ptr<store::GroupCommitter> own_commits;
  if (!ctx.commits && !ctx.dry_run) {
    own_commits = std::make_unique<store::GroupCommitter>(ctx.store);
    ctx.commits = own_commits.get();
  }
  // `concurrency` bounds the gateway calls in flight, not the workers: a worker whose call has
  // answered then waits for its outcome's commit (and its page read), and meanwhile a second
  // worker keeps that call slot busy. With one worker per slot the tick held C calls in flight
  // minus those committing, well under C/L closes/s.
  const int slots = std::max(1, ctx.settings.concurrency);
  const int workers = 2 * slots;
  GatewaySlots gateway(ctx.gateway, slots);
  JobContext bounded = ctx.with_gateway(gateway);
  TickQueue queue(job, bounded, options, report);
  std::vector<std::thread> threads;
  // spdlog builds its registry on first use; built here, before the workers exist, it is not
  // first built by a worker inside the uninstrumented libspdlog, which TSan reports as a race.
  spdlog::default_logger_raw();
  for (int i = 1; i < workers; ++i)
    threads.emplace_back([&] { work_through(job, bounded, options, queue, workers, metrics); });
  work_through(job, bounded, options, queue, workers, metrics);
  for (auto& t : threads) t.join();
  if (own_commits) {
    ctx.commits = nullptr;
    own_commits.reset();
  }
  report.error = queue.error();
  if (claims) {
    leases.release_claims(name, options.owner, "");  // those still queued when the tick ended
  } else {
    leases.release(name, options.owner);
  }

  report.finished_at = ctx.clock.now();
  report.failed = !report.error.empty();
  report.outcome = report.failed ? "failed" : report.unclear > 0 ? "partial" : "ok";
  auto backlog = job.backlog(ctx);
  metrics.backlog(name).set(static_cast<double>(backlog.count));
  metrics.oldest_due_seconds(name).set(
      backlog.oldest ? static_cast<double>((report.finished_at - *backlog.oldest).count()) / 1000.0
                     : 0.0);
  metrics.tick_seconds(name).observe(
      static_cast<double>((report.finished_at - report.started_at).count()) / 1000.0);
  if (!ctx.dry_run) {
    ctx.store.jobs().record_run(store::JobRunRow{
        0, name, options.owner, report.started_at, report.finished_at, report.outcome,
        report.selected, report.done, report.unclear, report.skipped, report.error});
  }
  // Last, so a store error above is counted once, as failed.
  metrics.runs(name, report.outcome).inc();
}

}  // namespace

TickReport run_tick(Job& job, JobContext& ctx, const TickOptions& options) {
  JobMetrics& metrics = ctx.metrics ? *ctx.metrics : JobMetrics::global();
  TickReport report;
  report.started_at = ctx.clock.now();
  try {
    run_tick_unguarded(job, ctx, options, metrics, report);
  } catch (const std::exception& e) {
    // A read-only or full store: the tick failed, it is counted and said, and no order moved
    // without its record (every order change is its own transaction).
    report.lease_held_elsewhere = false;
    report.failed = true;
    report.outcome = "failed";
    report.error = e.what();
    report.finished_at = ctx.clock.now();
    store::store_error_log().report(fmt::format("{}: tick failed", job.name()), e.what());
    metrics.runs(job.name(), "failed").inc();
  }
  return report;
}

}  // namespace chatglmd::jobs
