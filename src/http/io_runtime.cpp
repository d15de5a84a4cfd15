#include "http/io_runtime.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <mutex>
#include <thread>
#include <vector>

namespace chatglmd::http {

namespace asio = boost::asio;

namespace {
// The loop the current thread runs, if it is an io thread of some runtime.
thread_local asio::io_context* tl_loop = nullptr;

// An io_context whose services can be shut down ahead of its destruction (see ~IoRuntime).
class Loop : public asio::io_context {
 public:
  using asio::io_context::io_context;
  void shut_down_services() { shutdown(); }
};
}  // namespace

struct IoRuntime::Impl {
  using Guard = asio::executor_work_guard<asio::io_context::executor_type>;
  int io_threads;
  // One per io thread; the hint 1 tells Asio a single thread runs it.
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<Guard> guards;
  std::atomic<unsigned> next{0};
  asio::thread_pool workers;
  std::vector<std::thread> threads;
  std::mutex mutex;
  bool started = false;
  bool stopped = false;

  Impl(int n, int w)
      : io_threads(std::clamp(n, 1, kMaxThreads)),
        workers(static_cast<std::size_t>(std::clamp(w, 1, kMaxThreads))) {
    for (int i = 0; i < io_threads; ++i) {
      loops.push_back(std::make_unique<Loop>(1));
      guards.emplace_back(loops.back()->get_executor());
    }
  }
};

IoRuntime::IoRuntime(int io_threads, int worker_threads)
    : impl_(std::make_unique<Impl>(io_threads, worker_threads)) {}

IoRuntime::~IoRuntime() {
  stop();
  // Every loop's pending handlers are destroyed before any loop is: a handler on one loop can
  // hold the last reference to an object with a strand or timer on another (a connection keeps
  // its server, whose accept strand is on the first loop). Destroying the loops one by one
  // released it after that loop's services were freed (use-after-free found by ASan).
  for (auto& loop : impl_->loops) loop->shut_down_services();
}

asio::io_context& IoRuntime::io() {
  return *impl_->loops.front();
}

asio::io_context& IoRuntime::next_io() {
  auto i = impl_->next.fetch_add(1, std::memory_order_relaxed);
  return *impl_->loops[i % impl_->loops.size()];
}

asio::io_context& IoRuntime::io_here() {
  for (auto& loop : impl_->loops)
    if (loop.get() == tl_loop) return *loop;
  return next_io();
}

int IoRuntime::io_threads() const {
  return impl_->io_threads;
}

void IoRuntime::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started) return;
  impl_->started = true;
  for (auto& loop : impl_->loops) {
    impl_->threads.emplace_back([loop = loop.get()] {
      tl_loop = loop;
      loop->run();
    });
  }
}

void IoRuntime::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->workers.join();  // blocking work may still post answers to the loops
  for (auto& g : impl_->guards) g.reset();
  for (auto& loop : impl_->loops) loop->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void IoRuntime::post_blocking(std::function<void()> work) {
  asio::post(impl_->workers, std::move(work));
}

}  // namespace chatglmd::http
