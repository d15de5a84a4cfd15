#include "http/io_runtime.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace chatglmd::http {

namespace asio = boost::asio;

struct IoRuntime::Impl {
  int io_threads;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  asio::thread_pool workers;
  std::vector<std::thread> threads;
  std::mutex mutex;
  bool started = false;
  bool stopped = false;

  Impl(int n, int w)
      : io_threads(std::clamp(n, 1, kMaxThreads)),
        io(io_threads),
        workers(static_cast<std::size_t>(std::clamp(w, 1, kMaxThreads))) {
    guard.emplace(io.get_executor());
  }
};

IoRuntime::IoRuntime(int io_threads, int worker_threads)
    : impl_(std::make_unique<Impl>(io_threads, worker_threads)) {}

IoRuntime::~IoRuntime() {
  stop();
}

asio::io_context& IoRuntime::io() {
  return impl_->io;
}
int IoRuntime::io_threads() const {
  return impl_->io_threads;
}

void IoRuntime::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started) return;
  impl_->started = true;
  for (int i = 0; i < impl_->io_threads; ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
}

void IoRuntime::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->workers.join();  // blocking work may still post answers to the loop
  impl_->guard.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void IoRuntime::post_blocking(std::function<void()> work) {
  asio::post(impl_->workers, std::move(work));
}

}  // namespace chatglmd::http
