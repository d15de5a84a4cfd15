#pragma once
// A job repairs what the outside world breaks: it selects due orders and brings each one as far
// as the gateway allows. The runner (runner.hpp) owns everything common: the lease, batches,
// bounded concurrency, backoff, the job_run row and metrics. A job is one small class.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/order.hpp"
#include "core/refund.hpp"
#include "core/time.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"

namespace chatglmd::pay {
class PaymentGateway;
}

namespace chatglmd::jobs {

class JobMetrics;

// Named defaults and bounds, next to the option they belong to.
inline constexpr int kDefaultBatch = 50;
inline constexpr int kMaxBatch = 1000;
inline constexpr int kDefaultConcurrency = 16;
inline constexpr int kMaxConcurrency = 256;
inline constexpr std::chrono::minutes kDefaultLease{2};
inline constexpr std::chrono::minutes kDefaultBudget{1};

struct JobSettings {
  bool enabled = true;
  core::Millis interval{
      std::chrono::minutes(1)};  // fixed delay between the end of a tick and the next
  core::Millis after{std::chrono::minutes(1)};  // how old an order must be before it is due
  int batch = kDefaultBatch;
  int concurrency = kDefaultConcurrency;
  core::Millis lease{kDefaultLease};
  core::Millis budget{kDefaultBudget};  // a tick stops taking new batches after this long
};

struct JobContext {
  const core::Clock& clock;
  store::Store& store;
  pay::PaymentGateway& gateway;
  JobSettings settings;
  core::Millis close_after{
      std::chrono::minutes(30)};  // the timeout-close threshold (reconcile stops there)
  bool dry_run = false;
  const std::atomic<bool>* stopping =
      nullptr;  // set by SIGTERM: finish in-flight items, take no more
  JobMetrics* metrics = nullptr;
  // [alipay] late_payment: what a payment found on a CLOSED order turns into.
  core::LatePaymentPolicy late_payment = core::LatePaymentPolicy::Deliver;
  // Where the tick's order outcomes share commits, so workers do not queue behind one fsync
  // each (serve passes the daemon's; run_tick makes one for the tick when none is given).
  store::GroupCommitter* commits = nullptr;
  // [chat] log_days: how long the usage log keeps a chat (chat-log-prune removes older rows).
  core::Millis chat_log_keep{std::chrono::hours(24 * 90)};
  bool stop_requested() const { return stopping && stopping->load(); }
  // Makes `writes` durable, as a unit of `commits` when there is one; returns after the
  // commit, throws what `writes` threw or the commit's failure. Count an outcome only after it.
  void write(const std::function<void()>& writes) const {
    store::commit_durably(store, commits, writes);
  }
  std::function<void(const std::function<void()>&)> writer() const {
    return [this](const std::function<void()>& writes) { write(writes); };
  }
  // This context talking to another gateway (the runner's bounded view of this one). A field
  // added above belongs in this list too.
  JobContext with_gateway(pay::PaymentGateway& other) const {
    return JobContext{clock,    store,   other,        settings, close_after,  dry_run,
                      stopping, metrics, late_payment, commits,  chat_log_keep};
  }
};

enum class ItemStatus {
  Done,     // the order reached the state the facts allow (closed, paid+delivered, still waiting)
  Unclear,  // the gateway gave no answer we can trust: nothing changed, retried later with backoff
  Skipped,  // not ours any more (moved by someone else meanwhile)
};

struct ItemResult {
  ItemStatus status = ItemStatus::Unclear;
  std::string detail;
};

class Job {
 public:
  virtual ~Job() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;
  virtual JobSettings defaults() const = 0;
  // False for a job that never asks the payment gateway: it runs also on a host without
  // [alipay] app_id (serve schedules it, `jobs run` runs it), with a gateway that answers Unclear.
  virtual bool needs_payment_gateway() const { return true; }
  // Due orders with id > after_id, ordered by id.
  virtual std::vector<core::Order> select_due(JobContext& ctx, std::int64_t after_id,
                                              int limit) = 0;
  virtual store::OrderRepository::Backlog backlog(JobContext& ctx) = 0;
  // Runs on a worker thread; may block on the gateway.
  virtual ItemResult handle(JobContext& ctx, const core::Order& order) = 0;
  // Where an unclear item's backoff is kept: the order row, unless the job works on other rows.
  virtual void record_failure(JobContext& ctx, const core::Order& order, const std::string& error,
                              core::UtcMs next_attempt_at) {
    ctx.write([&] {
      ctx.store.orders().record_failure(order.order_id, order.state, error, next_attempt_at);
    });
  }
};

}  // namespace chatglmd::jobs
