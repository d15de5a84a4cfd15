#pragma once
// HTTP(S) client over Asio/Beast. Asio stays out of this header: callers hand in the io_context
// by reference and get callbacks on it, so one gateway call never blocks the event loop.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace chatglmd::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // http://127.0.0.1:port/path (loopback only) or https://host/path
  Headers headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  std::string header(std::string_view name) const;  // case-insensitive, "" when absent
};

struct Timeouts {
  std::chrono::milliseconds connect{5000};
  std::chrono::milliseconds write{10000};
  std::chrono::milliseconds first_byte{10000};  // response head after the request was written
  std::chrono::milliseconds idle{10000};        // between body reads
};

enum class NetErrorKind {
  BadUrl,       // unparsable, or plain http:// to a non-loopback host
  Connect,      // resolve/connect/TLS handshake failed
  Timeout,      // any of the Timeouts ran out
  Io,           // connection reset or closed mid-response
  BadResponse,  // not HTTP, or a body cut short
  Cancelled,    // cancel() was called
};

struct NetError {
  NetErrorKind kind;
  std::string message;
};

// Exactly one of the two is meaningful: ok() tells which.
struct FetchResult {
  std::optional<HttpResponse> response;
  NetError error{NetErrorKind::Io, ""};
  bool ok() const { return response.has_value(); }
};

// A streaming request in flight; destroying or cancelling it aborts the upstream connection.
class StreamHandle {
 public:
  virtual ~StreamHandle() = default;
  virtual void cancel() = 0;
};

struct StreamCallbacks {
  // The status line and headers arrived. Return false to abort.
  std::function<bool(int status, const Headers& headers)> on_head;
  // A piece of the body, as it arrived (no re-chunking). Return false to abort.
  std::function<bool(std::string_view piece)> on_data;
  // Called exactly once at the end: error is empty when the body ended normally.
  std::function<void(std::optional<NetError> error)> on_done;
};

class HttpClient {
 public:
  struct Options {
    bool verify_tls = true;              // against the system trust store
    std::size_t max_body = 8 << 20;      // larger responses are BadResponse
    std::size_t max_idle_per_host = 16;  // kept-alive connections reused per host
    // Every loop the client is given is run by exactly one thread (IoRuntime's loops): a request
    // then runs on its loop's executor, not a strand, which saves a queue and a lock on every
    // completion (one per relayed token). Leave false for a loop several threads run.
    bool one_thread_per_loop = false;
  };
  HttpClient(boost::asio::io_context& io, Options options);
  explicit HttpClient(boost::asio::io_context& io);
  // Each request runs on the loop `pick` names when it starts (the caller's own io thread, so a
  // relayed stream stays on one thread from the upstream socket to the client's).
  using LoopPicker = std::function<boost::asio::io_context&()>;
  HttpClient(LoopPicker pick, Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Completion runs on the io_context.
  void async_fetch(HttpRequest request, Timeouts timeouts, std::function<void(FetchResult)> done);

  // Blocks the calling thread until done. Never call it from a thread running the io_context.
  FetchResult fetch(HttpRequest request, Timeouts timeouts);

  std::shared_ptr<StreamHandle> async_stream(HttpRequest request, Timeouts timeouts,
                                             StreamCallbacks callbacks);

  // Reads the system trust store now (about 15 ms) instead of at the first TLS connection, which
  // would hold up every connection of that connection's loop meanwhile. Any thread.
  void load_trust_store();

  // Cancels every request in flight (each completes with Cancelled) and makes later ones
  // complete with Cancelled at once: a stopping process ends its gateway calls this way instead
  // of waiting for their timeouts. Any thread.
  void shut_down();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatglmd::net
