#pragma once
// A real server on 127.0.0.1 with a free port, its own io threads and its own metrics registry.
#include <memory>

#include "http/io_runtime.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"

namespace chatglmd::http::testing {

class TestServer {
 public:
  explicit TestServer(Router router, ServerConfig config = {}) {
    config.listen = "127.0.0.1:0";
    server_ = std::make_unique<Server>(runtime_, std::move(config), std::move(router), registry_);
    start_error_ = server_->start();
    runtime_.start();
  }
  ~TestServer() {
    server_->drain(Millis{0});
    server_.reset();
    runtime_.stop();
  }
  int port() const { return server_->port(); }
  const std::string& start_error() const { return start_error_; }
  Server& server() { return *server_; }
  metrics::Registry& registry() { return registry_; }
  IoRuntime& runtime() { return runtime_; }

 private:
  metrics::Registry registry_;
  IoRuntime runtime_{2, 2};
  std::unique_ptr<Server> server_;
  std::string start_error_;
};

}  // namespace chatglmd::http::testing
