#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "http/connection.hpp"
#include "http/server_impl.hpp"

namespace chatglmd::http {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The canned answer for a connection over max_connections: written without parsing anything.
constexpr std::string_view kBusyResponse =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
    "Retry-After: 1\r\nConnection: close\r\n\r\nserver busy\r\n";

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("http: connection ended by an exception: {}", x.what());
  }
}

// "127.0.0.1:8090", "[::1]:8090", ":8090" (all interfaces).
std::optional<tcp::endpoint> parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = listen.substr(0, colon);
  std::string port_text = listen.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535)
    return std::nullopt;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  boost::system::error_code aec;
  auto addr = asio::ip::make_address(host, aec);
  if (aec) return std::nullopt;
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

asio::awaitable<void> reject(tcp::socket socket) {
  co_await asio::async_write(socket, asio::buffer(kBusyResponse), use_tuple);
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

asio::awaitable<void> accept_loop(std::shared_ptr<ServerImpl> self) {
  for (;;) {
    auto strand = self->runtime.next_io().get_executor();  // one thread runs it (Connection)
    auto [ec, socket] = co_await self->acceptor.async_accept(strand, use_tuple);
    if (ec) {
      if (!self->acceptor.is_open() || self->draining) co_return;
      // Out of file descriptors and the like: pause briefly instead of spinning.
      spdlog::warn("http: accept failed: {}", ec.message());
      asio::steady_timer pause(self->accept_strand, std::chrono::milliseconds(50));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (self->count() >= self->config.max_connections) {
      self->metrics.rejected_connections.inc();
      asio::co_spawn(strand, reject(std::move(socket)), asio::detached);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);  // stream pieces must not wait for Nagle
    auto conn = std::make_shared<Connection>(self, std::move(socket), strand);
    self->add(conn);
    // The lambda keeps the connection alive until run() holds itself: the connection's loop is
    // usually another thread's, so run() starts later, after this iteration dropped `conn`.
    asio::co_spawn(
        strand, [conn] { return conn->run(); }, log_exception);
  }
}

}  // namespace

ServerMetrics::ServerMetrics(metrics::Registry& r)
    : requests(r.counter("chatglmd_http_requests_total", "HTTP requests by route and status.",
                         {"route", "status"})),
      latency(r.histogram("chatglmd_http_request_duration_seconds",
                          "Time from a complete request to the end of its answer, by route.",
                          {"route"})),
      open_streams(r.gauge("chatglmd_http_open_streams", "Streaming answers in progress.").get()),
      open_connections(r.gauge("chatglmd_http_open_connections", "Open client connections.").get()),
      rejected_connections(
          r.counter("chatglmd_http_rejected_connections_total",
                    "Connections refused with 503 because max_connections was reached.")
              .get()) {}

ServerImpl::ServerImpl(IoRuntime& rt, ServerConfig cfg, Router r, metrics::Registry& registry)
    : runtime(rt),
      config(std::move(cfg)),
      router(std::move(r)),
      cors(config.cors_origins),
      metrics(registry),
      accept_strand(asio::make_strand(rt.io())),
      acceptor(accept_strand) {}

void ServerImpl::add(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(conns_mutex);
  conns.emplace(c.get(), c);
}

void ServerImpl::remove(Connection* c) {
  {
    std::lock_guard lock(conns_mutex);
    conns.erase(c);
  }
  conns_changed.notify_all();
}

void ServerImpl::exchange_began() {
  exchanges.fetch_add(1, std::memory_order_relaxed);
}

void ServerImpl::exchange_ended() {
  if (exchanges.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  { std::lock_guard lock(conns_mutex); }  // a waiter is either asleep or will see 0
  conns_changed.notify_all();
}

std::size_t ServerImpl::count() {
  std::lock_guard lock(conns_mutex);
  return conns.size();
}

template <class Fn>
void ServerImpl::for_each_connection(Fn fn) {
  std::lock_guard lock(conns_mutex);
  for (auto& [raw, weak] : conns) {
    if (auto c = weak.lock()) asio::post(c->executor(), [c, fn] { fn(*c); });
  }
}

Server::Server(IoRuntime& runtime, ServerConfig config, Router router, metrics::Registry& registry)
    : impl_(std::make_shared<ServerImpl>(runtime, std::move(config), std::move(router), registry)) {
}

Server::~Server() {
  if ((!impl_->listening || impl_->draining) && impl_->count() == 0) return;
  drain(Millis{0});
}

std::string Server::start() {
  auto endpoint = parse_listen(impl_->config.listen);
  if (!endpoint) return "cannot parse listen address '" + impl_->config.listen + "'";
  boost::system::error_code ec;
  auto& a = impl_->acceptor;
  a.open(endpoint->protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(*endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    a.close();
    return "cannot listen on " + impl_->config.listen + ": " + ec.message();
  }
  impl_->port = a.local_endpoint().port();
  impl_->listening = true;
  asio::co_spawn(impl_->accept_strand, accept_loop(impl_), log_exception);
  return "";
}

int Server::port() const {
  return impl_->port;
}

std::size_t Server::open_connections() const {
  return impl_->count();
}

void Server::drain(Millis bound) {
  begin_drain();
  if (wait_drained(std::chrono::steady_clock::now() + bound)) return;
  spdlog::warn("http: drain bound passed with {} connections open; closing them", impl_->count());
  force_close();
}

void Server::begin_drain() {
  auto impl = impl_;
  impl->draining = true;
  asio::post(impl->accept_strand, [impl] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
  impl->for_each_connection([](Connection& c) { c.on_drain(); });
}

bool Server::wait_drained(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(impl_->conns_mutex);
  return impl_->conns_changed.wait_until(lock, deadline, [&] { return impl_->conns.empty(); });
}

bool Server::wait_released(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(impl_->conns_mutex);
  return impl_->conns_changed.wait_until(lock, deadline, [&] { return impl_->exchanges == 0; });
}

std::size_t Server::held_requests() const {
  return impl_->exchanges.load();
}

std::size_t Server::force_close() {
  auto impl = impl_;
  const std::size_t cut = impl->count();
  impl->for_each_connection([](Connection& c) { c.force_close(); });
  std::unique_lock lock(impl->conns_mutex);
  // Closing is quick once cancelled; the bound only guards against a stopped event loop.
  impl->conns_changed.wait_for(lock, std::chrono::seconds(5), [&] { return impl->conns.empty(); });
  return cut;
}

}  // namespace chatglmd::http
