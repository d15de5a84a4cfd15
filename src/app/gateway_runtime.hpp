#pragma once
// The Alipay adapter with the network thread it needs, built from [alipay].
#include <memory>
#include <string>

#include "app/config.hpp"
#include "core/time.hpp"

namespace chatglmd::net {
class HttpClient;
}
namespace chatglmd::pay {
class AlipayGateway;
}

namespace chatglmd::app {

class GatewayRuntime {
 public:
  // Null with `error` set when the keys cannot be read or parsed.
  static std::unique_ptr<GatewayRuntime> create(const AlipaySection& config,
                                                std::chrono::milliseconds close_after,
                                                const core::Clock& clock, std::string& error);
  ~GatewayRuntime();
  pay::AlipayGateway& gateway();
  net::HttpClient& http_client();
  // Ends the gateway calls in flight at once (they answer "unclear": nothing changes, the order
  // is retried later) and every later one: the stop budget ran out.
  void shut_down();

 private:
  GatewayRuntime();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatglmd::app
