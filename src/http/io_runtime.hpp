#pragma once
// The event loops the front and the upstream clients share, their threads, and a small pool for
// blocking work (store calls) so io threads never wait on a disk.
//
// One io_context per io thread, each run by that thread alone (the nginx worker model): a
// connection, its timers and the upstream call it starts stay on one thread, so handing a piece
// from the upstream to the client is a local queue push, not a wake-up of another thread. One
// io_context run by every thread made each hand-off a futex wake and a context switch, which
// was most of the front's CPU under load.
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace chatglmd::http {

inline constexpr int kDefaultIoThreads = 2;
inline constexpr int kDefaultWorkerThreads = 4;
inline constexpr int kMaxThreads = 256;

class IoRuntime {
 public:
  IoRuntime(int io_threads = kDefaultIoThreads, int worker_threads = kDefaultWorkerThreads);
  ~IoRuntime();  // stops and joins
  IoRuntime(const IoRuntime&) = delete;
  IoRuntime& operator=(const IoRuntime&) = delete;

  // The first loop: signals, the scheduler, the watchdog and the accept loop live here.
  boost::asio::io_context& io();
  // The loops in turn, for spreading new connections over the threads.
  boost::asio::io_context& next_io();
  // The loop of the calling io thread; from any other thread, next_io(). An upstream call
  // started while answering a request runs on that request's thread.
  boost::asio::io_context& io_here();
  // Starts the io threads (idempotent). Work posted before start() waits for it.
  void start();
  // Stops the loops and joins all threads; pending blocking work is finished first.
  void stop();
  void post_blocking(std::function<void()> work);
  int io_threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatglmd::http
