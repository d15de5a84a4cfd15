#pragma once
// The systemd watchdog of `serve`: pings at half the interval systemd asked for (WATCHDOG_USEC),
// and only while an io thread still runs our handlers, so a hung event loop stops the pings.
// Stopping wakes the thread at once: a stop never waits for the next ping.
#include <memory>

namespace boost::asio {
class io_context;
}

namespace chatglmd::app {

class Watchdog {
 public:
  // Does nothing when systemd asked for no watchdog.
  explicit Watchdog(boost::asio::io_context& io);
  ~Watchdog();  // stop()
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace chatglmd::app
