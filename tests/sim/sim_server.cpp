#include "sim_server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstdio>
#include <thread>

namespace chatglmd::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string raw_head(int status, const http::fields& fields) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                     std::string(http::obsolete_reason(static_cast<http::status>(status))) + "\r\n";
  for (const auto& field : fields)
    head += std::string(field.name_string()) + ": " + std::string(field.value()) + "\r\n";
  return head + "\r\n";
}

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

// Completes when the client closes (or the read is cancelled). Bytes that arrive meanwhile are
// kept for the next request, so keep-alive survives a stream.
asio::awaitable<void> watch_peer(tcp::socket& socket, beast::flat_buffer& buffer) {
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(buffer.prepare(4096), use_tuple);
    if (ec) co_return;
    buffer.commit(n);
  }
}

asio::awaitable<bool> write_all(tcp::socket& socket, std::string_view bytes) {
  auto [ec, n] =
      co_await asio::async_write(socket, asio::buffer(bytes.data(), bytes.size()), use_tuple);
  co_return !ec;
}

// True when every piece went out (and the end as asked); false on a write error.
asio::awaitable<bool> write_pieces(tcp::socket& socket, const SimStream& stream) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (const auto& piece : stream.pieces) {
    if (piece.empty()) continue;  // an empty chunk would end the body
    if (stream.pace.count() > 0) {
      timer.expires_after(stream.pace);
      auto [ec] = co_await timer.async_wait(use_tuple);
      if (ec) co_return false;
    }
    if (!stream.stamp_marker.empty()) {
      std::string stamped = piece;
      const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now().time_since_epoch())
                              .count();
      char digits[24];
      std::snprintf(digits, sizeof digits, "%016lld", static_cast<long long>(micros));
      for (std::size_t at; (at = stamped.find(stream.stamp_marker)) != std::string::npos;)
        stamped.replace(at, stream.stamp_marker.size(), digits);
      if (!co_await write_all(socket, chunk(stamped))) co_return false;
      continue;
    }
    if (!co_await write_all(socket, chunk(piece))) co_return false;
  }
  switch (stream.end) {
    case SimStream::End::Finish:
      co_return co_await write_all(socket, "0\r\n\r\n");
    case SimStream::End::Stall: {
      timer.expires_at(asio::steady_timer::time_point::max());
      co_await timer.async_wait(use_tuple);  // only the client leaving ends this
      co_return false;
    }
    case SimStream::End::Disconnect:
      co_return true;
  }
  co_return true;
}

}  // namespace

struct SimServer::Impl {
  SimServerOptions options;
  Handler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io, SIGINT, SIGTERM};
  asio::steady_timer idle_timer{io};
  // The accept loop and stop() touch the acceptor; io is run by several threads, so both run on
  // this strand (TSan saw stop() close it while the loop read it on another thread).
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(io)};
  std::atomic<std::int64_t> last_activity_ms{0};
  std::atomic<int> busy{0};

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) {
        if (!acceptor.is_open()) co_return;
        continue;
      }
      asio::co_spawn(asio::make_strand(io), session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    boost::system::error_code nodelay_ignored;
    socket.set_option(tcp::no_delay(true), nodelay_ignored);  // paced pieces must leave at once
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      auto [ec, n] = co_await http::async_read(socket, buffer, parser, use_tuple);
      if (ec) break;
      const auto arrived = std::chrono::steady_clock::now();
      ++busy;
      last_activity_ms = now_ms();
      auto& req = parser.get();
      SimRequest request;
      request.method = std::string(req.method_string());
      request.target = std::string(req.target());
      request.body = std::move(req.body());
      for (const auto& field : req)
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      SimReply reply;
      try {
        reply = handler(request);
      } catch (const std::exception& e) {
        reply = SimResponse{500, "text/plain", std::string("sim handler failed: ") + e.what()};
      }
      bool keep = req.keep_alive();
      if (auto* response = std::get_if<SimResponse>(&reply))
        keep = co_await answer(socket, buffer, *response, keep, arrived);
      else
        keep = co_await stream(socket, buffer, std::get<SimStream>(reply)) && keep;
      last_activity_ms = now_ms();
      --busy;
      if (!keep) break;
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  // A delayed answer leaves delay_ms after its request arrived: the handler's own work (parsing,
  // verifying, signing) is part of the latency a client sees, as at a real gateway, so a
  // latency fault of L makes calls take L, not L plus the simulator's CPU time.
  asio::awaitable<bool> answer(tcp::socket& socket, beast::flat_buffer& buffer,
                               const SimResponse& r, bool keep,
                               std::chrono::steady_clock::time_point arrived) {
    if (r.drop) co_return false;
    if (r.delay_ms > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor,
                               arrived + std::chrono::milliseconds(r.delay_ms));
      co_await timer.async_wait(use_tuple);
    }
    if (r.hang) {
      co_await watch_peer(socket, buffer);
      co_return false;
    }
    http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
    res.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res.set(name, value);
    res.body() = r.body;
    res.keep_alive(keep && r.truncate_at < 0);
    res.prepare_payload();
    if (r.truncate_at >= 0) {
      // Content-Length promises the whole body; part of it comes, then the connection ends.
      const auto cut =
          std::min<std::size_t>(static_cast<std::size_t>(r.truncate_at), r.body.size());
      co_await write_all(socket, raw_head(r.status, res.base()) + r.body.substr(0, cut));
      co_return false;
    }
    auto [ec, n] = co_await http::async_write(socket, res, use_tuple);
    co_return !ec && keep;
  }

  asio::awaitable<bool> stream(tcp::socket& socket, beast::flat_buffer& buffer,
                               const SimStream& s) {
    http::fields fields;
    fields.set(http::field::content_type, s.content_type);
    fields.set(http::field::cache_control, "no-cache");
    fields.set(http::field::transfer_encoding, "chunked");
    StreamOutcome outcome = StreamOutcome::PeerClosed;
    if (co_await write_all(socket, raw_head(s.status, fields))) {
      auto result = co_await (write_pieces(socket, s) || watch_peer(socket, buffer));
      if (result.index() == 0 && std::get<0>(result))
        outcome = s.end == SimStream::End::Disconnect ? StreamOutcome::ServerClosed
                                                      : StreamOutcome::Completed;
    }
    if (s.on_end) s.on_end(outcome);
    co_return outcome == StreamOutcome::Completed;
  }

  void arm_idle_check() {
    idle_timer.expires_after(std::chrono::milliseconds(250));
    idle_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      if (busy == 0 && now_ms() - last_activity_ms > options.exit_after_idle.count() * 1000) {
        stop();
        return;
      }
      arm_idle_check();
    });
  }

  void stop() {
    asio::post(accept_strand, [this] {
      boost::system::error_code ignored;
      acceptor.close(ignored);
      signals.cancel(ignored);
      idle_timer.cancel();
      io.stop();
    });
  }
};

SimServer::SimServer(SimServerOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  tcp::endpoint endpoint(asio::ip::make_address(impl_->options.address), impl_->options.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

SimServer::~SimServer() = default;

std::uint16_t SimServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void SimServer::run() {
  impl_->last_activity_ms = Impl::now_ms();
  asio::co_spawn(impl_->accept_strand, impl_->accept_loop(), asio::detached);
  impl_->signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) stop();
  });
  if (impl_->options.exit_after_idle.count() > 0) impl_->arm_idle_check();
  std::vector<std::thread> extra;
  for (int i = 1; i < impl_->options.threads; ++i) extra.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
  for (auto& t : extra) t.join();
}

void SimServer::stop() {
  impl_->stop();
}

}  // namespace chatglmd::sim
