#pragma once
// The built-in scheduler of `serve`: an Asio timer per enabled job, a fixed delay measured from
// the end of the previous tick plus jitter, one catch-up run after downtime (no backfill), and
// a graceful stop. Ticks run on their own threads, never on an io thread.
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "jobs/job.hpp"
#include "jobs/runner.hpp"

namespace boost::asio {
class io_context;
}

namespace chatglmd::jobs {

inline constexpr core::Millis kStartupDelay{std::chrono::seconds(2)};

struct ScheduledJob {
  Job* job;
  JobSettings settings;
};

class Scheduler {
 public:
  // `run` performs one tick of a job (the app builds its JobContext).
  using RunTick = std::function<TickReport(Job&, const JobSettings&)>;
  Scheduler(boost::asio::io_context& io, store::JobRepository& runs, const core::Clock& clock,
            std::vector<ScheduledJob> jobs, RunTick run);
  ~Scheduler();  // request_stop() and join(): no tick thread outlives the scheduler
  void start();
  // Stops arming timers; the running ticks see `stopping()` and take no new order.
  void request_stop();
  // Blocks until no tick runs (true) or `deadline` passes (false).
  bool wait_idle(std::chrono::steady_clock::time_point deadline);
  // Ticks running now (for the log line of a stop that was cut short).
  int running() const;
  // Joins every tick thread; the caller has made them end (stopping, gateway shut down).
  void join();
  const std::atomic<bool>& stopping() const;

  // When the first tick of a job should run, given its last run (pure; tested).
  static core::Millis first_delay(std::optional<core::UtcMs> last_finished, core::UtcMs now,
                                  core::Millis interval);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace chatglmd::jobs
