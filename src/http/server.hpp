#pragma once
// The HTTP/1.1 front: Beast over Asio with C++20 coroutines, each connection on one single-threaded
// loop. Beast and Asio stay in server.cpp and connection.cpp.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/client_address.hpp"
#include "http/router.hpp"

namespace chatglmd::metrics {
class Registry;
}

namespace chatglmd::http {

class IoRuntime;
struct ServerImpl;

using Millis = std::chrono::milliseconds;

// Defaults and bounds of every limit, next to their option.
inline constexpr std::size_t kDefaultHeaderLimit = 8 * 1024;
inline constexpr std::size_t kDefaultMaxBody = 1024 * 1024;
inline constexpr Millis kDefaultReadTimeout{10'000};   // whole request, from its first byte
inline constexpr Millis kDefaultIdleTimeout{30'000};   // keep-alive wait for the next request
inline constexpr Millis kDefaultWriteTimeout{30'000};  // one write to a slow client
inline constexpr Millis kDefaultDrainTimeout{30'000};  // in-flight answers at shutdown
inline constexpr Millis kDefaultLinger{1'000};         // reading leftovers after an error reply
inline constexpr std::size_t kDefaultMaxConnections = 10'000;
inline constexpr std::size_t kDefaultStreamQueueLimit = 1024 * 1024;

struct ServerConfig {
  std::string listen = "127.0.0.1:8090";  // host:port; port 0 picks a free one (tests)
  std::size_t header_limit = kDefaultHeaderLimit;
  std::size_t max_body = kDefaultMaxBody;
  Millis read_timeout = kDefaultReadTimeout;
  Millis idle_timeout = kDefaultIdleTimeout;
  Millis write_timeout = kDefaultWriteTimeout;
  Millis linger = kDefaultLinger;
  std::size_t max_connections = kDefaultMaxConnections;
  std::size_t stream_queue_limit = kDefaultStreamQueueLimit;
  // Origins allowed to call from a browser; "*" allows any.
  std::vector<std::string> cors_origins;
  // Peers whose X-Forwarded-For / X-Real-IP name the client (Request::client); none by default.
  TrustedProxies trusted_proxies;
};

class Server {
 public:
  Server(IoRuntime& runtime, ServerConfig config, Router router, metrics::Registry& registry);
  ~Server();  // closes everything still open (call drain() first for a graceful end)
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Returns "" on success, else why it could not listen.
  std::string start();
  // The bound port (after start()).
  int port() const;
  // Graceful drain: stop accepting, close idle keep-alive connections, let in-flight answers and
  // streams end; when `bound` passes, cancel what is left (their on_cancel runs) and close.
  // Blocks until every connection is gone. Never call it from an io thread.
  void drain(Millis bound = kDefaultDrainTimeout);
  // The same in steps, so a caller can share one stop budget with other work:
  // begin_drain() stops accepting and closes idle connections (a request that still arrives is
  // answered 503 and its connection closed); wait_drained() blocks until every connection is
  // gone (true) or `deadline` passes (false); force_close() cancels and closes what is left and
  // returns how many connections it cut.
  void begin_drain();
  bool wait_drained(std::chrono::steady_clock::time_point deadline);
  std::size_t force_close();
  // Blocks until no handler holds a request any more (true) or `deadline` passes (false). A
  // request can outlive its connection (a chat whose charge is still in the group commit when
  // its client leaves or the drain cuts it): its handler goes on, on an io loop, to start the
  // answer or give the chat back, so the loops must run until this returns.
  bool wait_released(std::chrono::steady_clock::time_point deadline);
  std::size_t held_requests() const;
  std::size_t open_connections() const;

 private:
  std::shared_ptr<ServerImpl> impl_;
};

}  // namespace chatglmd::http
