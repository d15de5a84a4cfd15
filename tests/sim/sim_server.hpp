#pragma once
// The simulator's HTTP/1.1 server (Beast, coroutines): keep-alive, faults carried out as the
// handler describes them (delay, hang, truncate, drop), paced chunked streams that notice at
// once when the client closes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sim_reply.hpp"

namespace chatglmd::sim {

struct SimServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = any free port
  int threads = 1;
  std::chrono::seconds exit_after_idle{0};  // 0 = never
};

class SimServer {
 public:
  using Handler = std::function<SimReply(const SimRequest&)>;
  SimServer(SimServerOptions options, Handler handler);
  ~SimServer();
  std::uint16_t port() const;  // valid after construction (the socket listens already)
  // Serves until stop(), SIGTERM/SIGINT, or the idle limit.
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatglmd::sim
