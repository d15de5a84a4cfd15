#pragma once
// Internal to the net module: one request/response over a pooled or fresh connection.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <unordered_map>

#include "net/connection.hpp"
#include "net/http_client.hpp"
#include "net/url.hpp"

namespace chatglmd::net::detail {

class Exchange;

// What every exchange of one HttpClient shares; exchanges keep it alive past the client.
struct ClientShared {
  ClientShared(HttpClient::LoopPicker pick, HttpClient::Options opts);
  HttpClient::LoopPicker pick_io;
  HttpClient::Options options;
  asio::ssl::context ssl;  // TLS connections take it through tls_context()
  ConnectionPool pool;
  asio::ssl::context& tls_context();
  std::once_flag trust_store_read;

  // Exchanges in flight, so a shutdown can cancel them; after it, no new exchange starts.
  std::mutex live_mutex;
  bool shut_down = false;
  std::unordered_map<Exchange*, std::weak_ptr<Exchange>> live;
};

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  // body_limit: nullopt = unlimited (streams hand pieces on instead of keeping them).
  Exchange(std::shared_ptr<ClientShared> shared, ParsedUrl url, HttpRequest request,
           Timeouts timeouts, StreamCallbacks callbacks, std::optional<std::uint64_t> body_limit);
  void start();
  void cancel();  // any thread; closes the socket at once (on the connection's strand)

 private:
  struct Outcome {
    std::optional<NetError> error;
    bool retryable = false;  // a reused connection turned out dead before any response byte
    bool reusable = false;   // the response ended cleanly and the server keeps the connection
  };

  asio::awaitable<void> run();
  asio::awaitable<std::optional<NetError>> connect();
  asio::awaitable<std::optional<NetError>> finish_connect();
  template <class Stream>
  asio::awaitable<Outcome> exchange(Stream& stream);
  template <class Stream>
  asio::awaitable<boost::system::error_code> send_request(Stream& stream);
  NetError error_for(const boost::system::error_code& ec, NetErrorKind otherwise,
                     const char* phase) const;
  void finish(std::optional<NetError> error);

  std::shared_ptr<ClientShared> shared_;
  ParsedUrl url_;
  HttpRequest request_;
  Timeouts timeouts_;
  StreamCallbacks callbacks_;
  std::optional<std::uint64_t> body_limit_;
  std::unique_ptr<Connection> connection_;
  std::optional<Strand> strand_;
  asio::ip::tcp::resolver* resolver_ = nullptr;
  std::atomic<bool> cancelled_{false};
  bool finished_ = false;
};

}  // namespace chatglmd::net::detail
