#include "net/scripted_server.hpp"

#include <poll.h>
#include <sys/socket.h>

namespace chatglmd::testing {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

std::optional<ScriptedConnection::Request> ScriptedConnection::read_request() {
  Request request;
  boost::system::error_code ec;
  http::read(socket_, buffer_, request, ec);
  if (ec) return std::nullopt;
  return request;
}

bool ScriptedConnection::write(std::string_view raw) {
  boost::system::error_code ec;
  boost::asio::write(socket_, boost::asio::buffer(raw.data(), raw.size()), ec);
  return !ec;
}

bool ScriptedConnection::wait_closed(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char scratch[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{socket_.native_handle(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    const auto n = ::recv(socket_.native_handle(), scratch, sizeof scratch, 0);
    if (n <= 0) return true;
  }
}

void ScriptedConnection::close() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

ScriptedServer::ScriptedServer(Script script, int backlog)
    : acceptor_(io_), script_(std::move(script)) {
  tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(backlog);
  port_ = acceptor_.local_endpoint().port();
  acceptor_thread_ = std::thread([this] { accept_loop(); });
}

void ScriptedServer::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (stopping_) return;
    if (ec) continue;
    const int index = connections_++;
    std::lock_guard lock(mutex_);
    threads_.emplace_back([this, s = std::move(socket), index]() mutable {
      ScriptedConnection connection(std::move(s), index);
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        live_.push_back(&connection);
      }
      script_(connection);
      std::lock_guard lock(mutex_);
      live_.remove(&connection);
    });
  }
}

ScriptedServer::~ScriptedServer() {
  stopping_ = true;
  ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocking accept
  acceptor_thread_.join();
  {
    std::lock_guard lock(mutex_);
    for (auto* connection : live_) ::shutdown(connection->socket().native_handle(), SHUT_RDWR);
  }
  for (auto& thread : threads_) thread.join();
}

}  // namespace chatglmd::testing
