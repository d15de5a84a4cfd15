#include "app/watchdog.hpp"

#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace chatglmd::app {

struct Watchdog::State {
  std::mutex mutex;
  std::condition_variable changed;
  bool stopping = false;
  std::uint64_t answered = 0;  // io handlers that ran, counted so a late one is not mistaken
  std::thread thread;
};

Watchdog::Watchdog(boost::asio::io_context& io) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  state_ = std::make_shared<State>();
  const auto half = std::chrono::microseconds(usec / 2);
  state_->thread = std::thread([&io, state = state_, half] {
    std::unique_lock lock(state->mutex);
    while (!state->stopping) {
      const std::uint64_t expected = state->answered + 1;
      // The handler holds the state, not the watchdog: it may run after stop() returned.
      boost::asio::post(io, [state] {
        {
          std::lock_guard inner(state->mutex);
          ++state->answered;
        }
        state->changed.notify_all();
      });
      // Wait for the io thread (as long as it takes: a hung loop gets no ping), then rest.
      state->changed.wait(lock, [&] { return state->stopping || state->answered >= expected; });
      if (state->stopping) break;
      sd_notify(0, "WATCHDOG=1");
      state->changed.wait_for(lock, half, [&] { return state->stopping; });
    }
  });
}

Watchdog::~Watchdog() {
  stop();
}

void Watchdog::stop() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace chatglmd::app
