#include "http/io_runtime.hpp"

#include <gtest/gtest.h>

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>

namespace chatglmd::http {
namespace {

namespace asio = boost::asio;

// A service added to a loop: its destructor runs when that loop frees its services, the moment
// after which a strand or timer of that loop must no longer be touched.
class LoopServicesWitness : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;
  explicit LoopServicesWitness(asio::execution_context& owner) : service(owner) {}
  ~LoopServicesWitness() override {
    if (alive) *alive = false;
  }
  bool* alive = nullptr;

 private:
  void shutdown() override {}
};
asio::execution_context::id LoopServicesWitness::id;

// What a connection is to its server: an object on one loop that needs another loop's services
// (the server's accept strand) when it dies.
struct NeedsFirstLoop {
  const bool* first_loop_alive;
  bool* alive_when_destroyed;
  ~NeedsFirstLoop() { *alive_when_destroyed = *first_loop_alive; }
};

// A pending handler on the second loop holds the last reference to an object that uses the first
// loop's services in its destructor. ~IoRuntime destroyed the loops one by one, the first one
// (and its services) before the second one's handlers: in the daemon, a connection's handler
// released the server after the accept strand's service was freed (ASan: heap-use-after-free).
TEST(IoRuntime, PendingHandlersAreDestroyedWhileEveryLoopsServicesAreAlive) {
  bool first_loop_alive = true;
  bool alive_when_destroyed = false;
  {
    IoRuntime runtime(2, 1);
    asio::io_context& first = runtime.io();
    asio::io_context* second = &runtime.next_io();
    while (second == &first) second = &runtime.next_io();
    asio::use_service<LoopServicesWitness>(first).alive = &first_loop_alive;

    auto object =
        std::make_shared<NeedsFirstLoop>(NeedsFirstLoop{&first_loop_alive, &alive_when_destroyed});
    // Not started: the handler stays pending until the runtime goes away.
    asio::post(*second, [object] {});
    object.reset();
  }
  EXPECT_FALSE(first_loop_alive);  // the witness did run: the check below means something
  EXPECT_TRUE(alive_when_destroyed);
}

}  // namespace
}  // namespace chatglmd::http
