#pragma once
// A blocking HTTP server for client tests: every accepted connection runs a script on its own
// thread, so a test can answer, stall, cut a body short or watch for the client closing, step by
// step. Everything shuts down (sockets woken, threads joined) when the server object dies.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace chatglmd::testing {

// A one-shot event one thread sets and another waits for (bounded, so a bug fails instead of
// hangs).
class Signal {
 public:
  void set() {
    std::lock_guard lock(mutex_);
    set_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [this] { return set_; });
  }
  bool is_set() {
    std::lock_guard lock(mutex_);
    return set_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool set_ = false;
};

class ScriptedConnection {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  ScriptedConnection(boost::asio::ip::tcp::socket socket, int index)
      : socket_(std::move(socket)), index_(index) {}
  int index() const { return index_; }
  // nullopt when the client closed (or sent garbage).
  std::optional<Request> read_request();
  bool write(std::string_view raw);
  // Reads and discards until the client closes; true when it did within the limit.
  bool wait_closed(std::chrono::milliseconds limit = std::chrono::seconds(10));
  void close();
  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  int index_;
};

class ScriptedServer {
 public:
  using Script = std::function<void(ScriptedConnection&)>;
  explicit ScriptedServer(Script script, int backlog = 64);
  ~ScriptedServer();
  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_; }
  // Stops accepting; the listening socket stays (connections then queue in the backlog).
  boost::asio::ip::tcp::acceptor& acceptor() { return acceptor_; }

 private:
  void accept_loop();

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Script script_;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::list<ScriptedConnection*> live_;
  std::list<std::thread> threads_;
  std::thread acceptor_thread_;
};

}  // namespace chatglmd::testing
