#include "loopback_sim_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <mutex>
#include <thread>

namespace chatglmd::pay::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct LoopbackSimServer::Impl {
  Handler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::thread accept_thread;
  std::mutex mu;
  std::list<std::thread> workers;
  std::list<std::shared_ptr<tcp::socket>> sockets;

  void serve(std::shared_ptr<tcp::socket> socket) {
    boost::beast::flat_buffer buffer;
    boost::system::error_code ec;
    while (true) {
      http::request<http::string_body> req;
      http::read(*socket, buffer, req, ec);
      if (ec) return;
      sim::SimRequest s;
      s.method = std::string(req.method_string());
      s.target = std::string(req.target());
      s.body = req.body();
      for (const auto& f : req)
        s.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      const sim::SimResponse r = handler(s);
      if (r.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(r.delay_ms));
      if (r.drop) return;
      if (r.hang) {
        // Keep the connection open, answering nothing, until the client gives up.
        char byte;
        socket->read_some(asio::buffer(&byte, 1), ec);
        return;
      }
      http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
      res.set(http::field::content_type, r.content_type);
      for (const auto& [k, v] : r.headers) res.set(k, v);
      res.body() = r.body;
      res.prepare_payload();
      if (r.truncate_at >= 0) {
        // Full Content-Length, part of the body, then close.
        http::response_serializer<http::string_body> sr{res};
        http::write_header(*socket, sr, ec);
        asio::write(*socket, asio::buffer(r.body.data(), static_cast<std::size_t>(r.truncate_at)),
                    ec);
        return;
      }
      http::write(*socket, res, ec);
      if (ec || !req.keep_alive()) return;
    }
  }
};

LoopbackSimServer::LoopbackSimServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->accept_thread = std::thread([impl = impl_.get()] {
    while (true) {
      auto socket = std::make_shared<tcp::socket>(impl->io);
      boost::system::error_code ec;
      impl->acceptor.accept(*socket, ec);
      if (ec) return;
      std::lock_guard lock(impl->mu);
      impl->sockets.push_back(socket);
      impl->workers.emplace_back([impl, socket] {
        impl->serve(socket);
        boost::system::error_code ignored;
        socket->shutdown(tcp::socket::shutdown_both, ignored);
      });
    }
  });
}

LoopbackSimServer::~LoopbackSimServer() {
  boost::system::error_code ec;
  // shutdown() wakes a blocking accept(); close() alone does not on Linux.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->accept_thread.join();
  impl_->acceptor.close(ec);
  std::lock_guard lock(impl_->mu);
  for (auto& s : impl_->sockets) s->shutdown(tcp::socket::shutdown_both, ec);
  for (auto& t : impl_->workers) t.join();
}

int LoopbackSimServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

}  // namespace chatglmd::pay::test
