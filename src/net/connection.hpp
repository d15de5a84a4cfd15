#pragma once
// Internal to the net module (includes Beast): one kept-alive connection and the per-host pool.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace chatglmd::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
// A strand over the loop, or the loop's own executor when the client's options say each loop is
// run by one thread (HttpClient::Options::one_thread_per_loop).
using Strand = asio::any_io_executor;

// A connection belongs to one strand for its whole life: Beast streams are not thread-safe, and
// the io_context may be run by several threads. Whoever uses it next runs on that strand.
struct Connection {
  // Beast bounds a response header (8 KiB) but not a chunk-size line or the trailer, and streams
  // have no body limit: this bound on unparsed bytes keeps an endless line from being buffered
  // until the idle timeout. The parser moves body bytes out as they arrive.
  static constexpr std::size_t kMaxBuffered = 128 * 1024;

  Connection(Strand s, bool tls, asio::ssl::context& ctx)
      : strand(std::move(s)), buffer(kMaxBuffered) {
    if (tls)
      tls_stream.emplace(strand, ctx);
    else
      plain.emplace(strand);
  }
  beast::tcp_stream& tcp() { return tls_stream ? beast::get_lowest_layer(*tls_stream) : *plain; }
  template <class F>
  auto visit(F&& f) {
    if (tls_stream) return f(*tls_stream);
    return f(*plain);
  }

  Strand strand;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since{};
};

class ConnectionPool {
 public:
  // Servers drop idle keep-alive connections after a while; older ones are not worth a retry.
  static constexpr std::chrono::seconds kMaxIdleAge{30};

  explicit ConnectionPool(std::size_t max_idle_per_host) : max_idle_per_host_(max_idle_per_host) {}
  // The most recently used live connection, one on `loop` first when there is one (a request
  // then stays on its caller's thread).
  std::unique_ptr<Connection> take(const std::string& key, const asio::io_context* loop = nullptr);
  void give_back(const std::string& key, std::unique_ptr<Connection> connection);
  std::size_t idle_count(const std::string& key);

 private:
  std::mutex mutex_;
  std::size_t max_idle_per_host_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace chatglmd::net::detail
