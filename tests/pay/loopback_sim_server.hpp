#pragma once
// A small threaded HTTP/1.1 server on 127.0.0.1 that hands every request to a sim handler and
// carries out its faults (delay, hang, truncate, drop). It lets the gateway tests run over real
// sockets without the chatglmd-sim process; it stops when destroyed.
#include <functional>
#include <memory>

#include "sim_http.hpp"

namespace chatglmd::pay::test {

class LoopbackSimServer {
 public:
  using Handler = std::function<sim::SimResponse(const sim::SimRequest&)>;
  explicit LoopbackSimServer(Handler handler);
  ~LoopbackSimServer();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatglmd::pay::test
