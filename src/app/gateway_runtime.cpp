#include "app/gateway_runtime.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <string>
#include <thread>
#include <variant>

#include "jobs/job.hpp"
#include "net/http_client.hpp"
#include "pay/alipay_gateway.hpp"

namespace chatglmd::app {

struct GatewayRuntime::Impl {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<net::HttpClient> client;
  std::unique_ptr<pay::AlipayGateway> gateway;
  std::thread thread;
};

GatewayRuntime::GatewayRuntime() : impl_(std::make_unique<Impl>()) {}

GatewayRuntime::~GatewayRuntime() {
  // A fetch still in flight completes on the io thread into the gateway: end the calls, stop
  // and join that thread first, and only then free the gateway its callbacks point into.
  if (impl_->client) impl_->client->shut_down();
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->gateway.reset();
}

std::unique_ptr<GatewayRuntime> GatewayRuntime::create(const AlipaySection& section,
                                                       std::chrono::milliseconds close_after,
                                                       const core::Clock& clock,
                                                       std::string& error) {
  pay::AlipayConfig cfg;
  cfg.gateway = section.gateway;
  cfg.app_id = section.app_id;
  cfg.seller_id = section.seller_id;
  cfg.notify_url = section.notify_url;
  cfg.return_url = section.return_url;
  cfg.mode = section.mode == "precreate" ? pay::PayMode::Precreate : pay::PayMode::Page;
  cfg.timeout = section.timeout;
  cfg.close_after = close_after;  // pay requests expire when timeout-close stops waiting
  if (section.app_id.empty()) {
    error = "alipay.app_id is not set";
    return nullptr;
  }
  if (section.private_key_file.empty() || section.alipay_public_key_file.empty()) {
    error = "alipay.private_key_file and alipay.alipay_public_key_file must be set";
    return nullptr;
  }
  auto key = read_secret_file(section.private_key_file, error);
  if (!key) return nullptr;
  auto pub = read_secret_file(section.alipay_public_key_file, error);
  if (!pub) return nullptr;
  cfg.private_key = *key;
  cfg.alipay_public_key = *pub;
  std::unique_ptr<GatewayRuntime> rt(new GatewayRuntime());
  // A tick keeps up to [jobs.*] concurrency calls in flight: each finds a kept-alive
  // connection afterwards instead of most of them connecting afresh (the default keeps 16).
  net::HttpClient::Options http_options;
  http_options.max_idle_per_host = jobs::kMaxConcurrency;
  rt->impl_->client = std::make_unique<net::HttpClient>(rt->impl_->io, http_options);
  auto made = pay::AlipayGateway::create(cfg, *rt->impl_->client, clock);
  if (auto* msg = std::get_if<std::string>(&made)) {
    error = *msg;
    return nullptr;
  }
  rt->impl_->gateway = std::move(std::get<0>(made));
  rt->impl_->thread = std::thread([io = &rt->impl_->io] { io->run(); });
  return rt;
}

pay::AlipayGateway& GatewayRuntime::gateway() {
  return *impl_->gateway;
}
net::HttpClient& GatewayRuntime::http_client() {
  return *impl_->client;
}

void GatewayRuntime::shut_down() {
  impl_->client->shut_down();
}

}  // namespace chatglmd::app
