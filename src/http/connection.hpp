#pragma once
// One accepted TCP connection: reads requests one at a time (so a pipelining client has at
// most one request in flight and the parser limits bound what it can queue), dispatches them
// and writes whole or streamed answers.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <optional>
#include <string>

#include "http/server_impl.hpp"

namespace chatglmd::http {

struct Pending;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // The loop's own executor, no strand: each loop of IoRuntime is run by exactly one thread, so
  // the connection's handlers never run at once, and a strand would only add a locked queue to
  // every completion (one per relayed token and per wake-up).
  using Executor = boost::asio::io_context::executor_type;
  // `socket` must use `executor` (the connection's loop), so Beast's timers run on it too.
  Connection(std::shared_ptr<ServerImpl> server, boost::asio::ip::tcp::socket socket,
             Executor executor);
  ~Connection();
  boost::asio::awaitable<void> run();
  // Both run on the connection's loop.
  void on_drain();     // idle: close now; busy: close after the current answer
  void force_close();  // cancel the answer in flight and close

  Executor executor() { return executor_; }

 private:
  struct Incoming {
    Request request;
    bool keep_alive = false;
  };
  boost::asio::awaitable<std::optional<Incoming>> read_request();
  boost::asio::awaitable<bool> serve_one();
  boost::asio::awaitable<bool> write_stream_head(const std::shared_ptr<Pending>& p,
                                                 const Headers& cors_headers, int& status,
                                                 bool chunked);
  boost::asio::awaitable<void> wait_signal();
  boost::asio::awaitable<bool> drive(const std::shared_ptr<Pending>& p, const Headers& cors_headers,
                                     bool keep_alive, int& status);
  boost::asio::awaitable<bool> stream(const std::shared_ptr<Pending>& p,
                                      const Headers& cors_headers, int& status);
  boost::asio::awaitable<void> watch(std::shared_ptr<Pending> p);
  boost::asio::awaitable<bool> write_whole(Response r, const Headers& cors_headers, bool keep_alive,
                                           int version);
  boost::asio::awaitable<void> reply_error_and_close(int status, std::string info, bool openai);
  void start_watch(const std::shared_ptr<Pending>& p);
  void cancel_pending(const std::shared_ptr<Pending>& p);

  std::shared_ptr<ServerImpl> server_;
  Executor executor_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer signal_;
  std::string peer_;
  std::string client_;  // of the request being answered (the peer, or who a trusted proxy names)
  std::shared_ptr<Pending> current_;
  // The metrics series of the last answer, looked up again only when route or status change.
  struct Series {
    std::string route;
    int status = 0;
    metrics::Counter* requests = nullptr;
    metrics::Histogram* latency = nullptr;
  } series_;
  int version_ = 11;
  bool idle_ = false;
  bool closing_ = false;
  metrics::GaugeGuard open_;
};

}  // namespace chatglmd::http
