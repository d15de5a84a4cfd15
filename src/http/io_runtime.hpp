#pragma once
// The event loop the front and the upstream clients share, its threads, and a small pool for
// blocking work (store calls) so io threads never wait on a disk.
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

  boost::asio::io_context& io();
  // Starts the io threads (idempotent). Work posted before start() waits for it.
  void start();
  // Stops the loop and joins all threads; pending blocking work is finished first.
  void stop();
  void post_blocking(std::function<void()> work);
  int io_threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatglmd::http
