#include "jobs/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

namespace chatglmd::jobs {

struct Scheduler::Impl : std::enable_shared_from_this<Impl> {
  struct Slot {
    ScheduledJob entry;
    std::unique_ptr<boost::asio::steady_timer> timer;
    std::thread worker;
  };
  boost::asio::io_context& io;
  store::JobRepository& runs;
  const core::Clock& clock;
  RunTick run;
  std::vector<std::unique_ptr<Slot>> slots;
  std::atomic<bool> stopping{false};
  // Guards `running` and every slot's worker: the io thread starts ticks, the stopping thread
  // joins them.
  mutable std::mutex mutex;
  std::condition_variable idle;
  int running = 0;
  std::mt19937_64 rng{std::random_device{}()};

  Impl(boost::asio::io_context& io, store::JobRepository& runs, const core::Clock& clock,
       RunTick run)
      : io(io), runs(runs), clock(clock), run(std::move(run)) {}

  core::Millis jitter(core::Millis interval) {
    // Up to 10% of the interval, so several instances drift apart instead of colliding.
    std::lock_guard lock(mutex);
    std::uniform_int_distribution<std::int64_t> d(0,
                                                  std::max<std::int64_t>(interval.count() / 10, 1));
    return core::Millis{d(rng)};
  }

  void arm(Slot& slot, core::Millis delay) {
    if (stopping) return;
    slot.timer->expires_after(delay);
    slot.timer->async_wait([self = shared_from_this(), &slot](boost::system::error_code ec) {
      if (ec || self->stopping) return;
      self->fire(slot);
    });
  }

  void fire(Slot& slot) {
    // Checked under the lock request_stop() takes: a tick starts before the stop or not at all,
    // so wait_idle() and join() see every tick thread there is.
    std::lock_guard lock(mutex);
    if (stopping) return;
    if (slot.worker.joinable()) slot.worker.join();  // the previous tick has ended (it re-armed us)
    ++running;
    slot.worker = std::thread([self = shared_from_this(), &slot] {
      try {
        auto report = self->run(*slot.entry.job, slot.entry.settings);
        spdlog::debug("{}: tick {} ({} selected)", slot.entry.job->name(), report.outcome,
                      report.selected);
      } catch (const std::exception& e) {
        spdlog::error("{}: tick failed: {}", slot.entry.job->name(), e.what());
      }
      {
        std::lock_guard lock(self->mutex);
        --self->running;
      }
      self->idle.notify_all();
      // Fixed delay from the end of this tick.
      boost::asio::post(self->io, [self, &slot] {
        self->arm(slot, slot.entry.settings.interval + self->jitter(slot.entry.settings.interval));
      });
    });
  }
};

Scheduler::Scheduler(boost::asio::io_context& io, store::JobRepository& runs,
                     const core::Clock& clock, std::vector<ScheduledJob> jobs, RunTick run)
    : impl_(std::make_shared<Impl>(io, runs, clock, std::move(run))) {
  for (auto& j : jobs) {
    auto slot = std::make_unique<Impl::Slot>();
    slot->entry = j;
    slot->timer = std::make_unique<boost::asio::steady_timer>(io);
    impl_->slots.push_back(std::move(slot));
  }
}

Scheduler::~Scheduler() {
  request_stop();
  join();
}

core::Millis Scheduler::first_delay(std::optional<core::UtcMs> last_finished, core::UtcMs now,
                                    core::Millis interval) {
  if (!last_finished) return kStartupDelay;
  auto due = *last_finished + interval;
  // Overdue after downtime: one catch-up run soon, not one per missed interval.
  if (due <= now + kStartupDelay) return kStartupDelay;
  return due - now;
}

void Scheduler::start() {
  for (auto& slot : impl_->slots) {
    auto last = impl_->runs.last_run(std::string(slot->entry.job->name()));
    auto delay = first_delay(last ? std::optional(last->finished_at) : std::nullopt,
                             impl_->clock.now(), slot->entry.settings.interval);
    spdlog::info("scheduler: {} every {} ms, first in {} ms", slot->entry.job->name(),
                 slot->entry.settings.interval.count(), delay.count());
    boost::asio::post(impl_->io, [impl = impl_, s = slot.get(), delay] { impl->arm(*s, delay); });
  }
}

void Scheduler::request_stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  boost::asio::post(impl_->io, [impl = impl_] {
    for (auto& slot : impl->slots) slot->timer->cancel();
  });
}

bool Scheduler::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(impl_->mutex);
  return impl_->idle.wait_until(lock, deadline, [&] { return impl_->running == 0; });
}

int Scheduler::running() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->running;
}

void Scheduler::join() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(impl_->mutex);
    for (auto& slot : impl_->slots)
      if (slot->worker.joinable()) workers.push_back(std::move(slot->worker));
  }
  for (auto& w : workers) w.join();
}

const std::atomic<bool>& Scheduler::stopping() const {
  return impl_->stopping;
}

}  // namespace chatglmd::jobs
