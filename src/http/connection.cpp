#include "http/connection.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>

#include "http/pending.hpp"
#include "http/request_reader.hpp"
#include "store/store_error.hpp"
#include "store/store_error_log.hpp"

namespace chatglmd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::awaitable;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Beast reads at most this much at a time (and so does the linger loop below).
constexpr std::size_t kReadChunk = 64 * 1024;

// One piece straight to the stream's socket, framed as Connection::stream frames it (one chunk),
// in one sendmsg without copying the piece. True when all of it went out. Otherwise the direct
// path closes: the rest is kept in `unsent` (the socket is full) or `direct_failed` is set (the
// client is gone), and the caller wakes the stream, which writes or cancels in order.
bool send_direct(Pending& p, std::string_view piece) {
  char size[24];
  iovec iov[3];
  int count = 0;
  if (p.direct_chunked) {
    auto [end, ec] = std::to_chars(size, size + sizeof size - 2, piece.size(), 16);
    *end++ = '\r';
    *end++ = '\n';
    iov[count++] = {size, static_cast<std::size_t>(end - size)};
  }
  iov[count++] = {const_cast<char*>(piece.data()), piece.size()};
  static constexpr char crlf[] = "\r\n";
  if (p.direct_chunked) iov[count++] = {const_cast<char*>(crlf), 2};
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<std::size_t>(count);
  ssize_t sent;
  do {
    sent = ::sendmsg(p.direct_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent == static_cast<ssize_t>(total)) return true;
  p.direct_fd = -1;
  if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    p.direct_failed = true;
    return false;
  }
  auto skip = static_cast<std::size_t>(std::max<ssize_t>(sent, 0));
  for (int i = 0; i < count; ++i) {
    const std::size_t len = iov[i].iov_len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    p.unsent.append(static_cast<const char*>(iov[i].iov_base) + skip, len - skip);
    skip = 0;
  }
  return false;
}

// What handlers get: forwards to the Pending state and wakes the connection.
class ExchangeImpl final : public Exchange, public std::enable_shared_from_this<ExchangeImpl> {
 public:
  ExchangeImpl(std::shared_ptr<Pending> p, Request request, std::shared_ptr<ServerImpl> server,
               Connection::Executor executor)
      : p_(std::move(p)),
        request_(std::move(request)),
        server_(std::move(server)),
        executor_(executor) {
    server_->exchange_began();
  }

  ~ExchangeImpl() override {
    bool wake = false;
    {
      std::lock_guard lock(p_->mutex);
      if (p_->phase == Pending::Phase::waiting) {
        // A handler that forgot to answer is a bug; the client still gets a clear answer.
        p_->phase = Pending::Phase::whole;
        p_->response = is_openai_path(request_.path)
                           ? openai_error(500, "no answer", "server_error")
                           : envelope(code::unknown_error, "no answer");
        wake = true;
      } else if (p_->phase == Pending::Phase::streaming && !p_->finished) {
        p_->aborted = true;
        wake = true;
      }
    }
    if (wake) p_->wake();
    // Last: the stop waits for this count, and the wake-up above must be posted before the
    // loops may stop.
    server_->exchange_ended();
  }

  const Request& request() const override { return request_; }

  void respond(Response response) override {
    {
      std::lock_guard lock(p_->mutex);
      if (p_->phase != Pending::Phase::waiting || p_->cancelled) return;
      p_->phase = Pending::Phase::whole;
      p_->response = std::move(response);
    }
    p_->wake();
  }

  void start_stream(int status, std::string content_type, Headers headers) override {
    {
      std::lock_guard lock(p_->mutex);
      if (p_->phase != Pending::Phase::waiting || p_->cancelled) return;
      p_->phase = Pending::Phase::streaming;
      p_->stream_status = status;
      p_->stream_content_type = std::move(content_type);
      p_->stream_headers = std::move(headers);
    }
    p_->wake();
  }

  bool write(std::string_view piece) override {
    bool accepted = true;
    {
      std::lock_guard lock(p_->mutex);
      if (p_->cancelled || p_->overflow || p_->phase != Pending::Phase::streaming || p_->finished)
        return false;
      if (piece.empty()) return true;
      const std::size_t backlog = p_->queued.size() + p_->unsent.size();
      if (backlog > 0 && backlog + piece.size() > server_->config.stream_queue_limit) {
        // The client reads slower than the answer comes (what a direct send left over waits in
        // memory too): the stream is cancelled. A piece that finds nothing waiting is taken
        // whatever its size: it is in memory already, and one upstream event may be as large
        // as the bound itself (max_event_bytes) before its framing; refusing it would end an
        // answer the client has not had a byte of. So a stream holds at most the bound plus
        // one piece.
        p_->overflow = true;
        accepted = false;
      } else if (p_->direct_fd >= 0 && p_->queued.empty() && executor_.running_in_this_thread()) {
        // A piece relayed on the connection's own loop while its stream waits idle (the usual
        // token) goes out here: the stream's coroutine is neither woken nor resumed for it.
        if (send_direct(*p_, piece)) return true;
      } else {
        p_->queued += piece;
      }
    }
    p_->wake();
    return accepted;
  }

  void finish() override {
    {
      std::lock_guard lock(p_->mutex);
      if (p_->phase != Pending::Phase::streaming || p_->finished) return;
      p_->finished = true;
    }
    p_->wake();
  }

  void on_cancel(std::function<void()> fn) override {
    {
      std::lock_guard lock(p_->mutex);
      if (!p_->cancelled) {
        p_->on_cancel = std::move(fn);
        return;
      }
    }
    if (fn) fn();
  }

  bool cancelled() const override {
    std::lock_guard lock(p_->mutex);
    return p_->cancelled;
  }

  void run_blocking(std::function<void()> work) override {
    server_->runtime.post_blocking(guarded(std::move(work)));
  }

  void post(std::function<void()> fn) override { asio::post(executor_, guarded(std::move(fn))); }

 private:
  // An exception that escapes a worker or an io thread ends the process (asio::thread_pool calls
  // std::terminate; io_context::run() rethrows into its thread). A store call that fails on a
  // full disk or a long lock must cost this request only.
  std::function<void()> guarded(std::function<void()> fn) {
    return [self = shared_from_this(), fn = std::move(fn)] {
      try {
        fn();
      } catch (const store::StoreError& e) {
        self->store_unavailable(e.what());
      } catch (const std::exception& e) {
        self->fail(e.what());
      } catch (...) {
        self->fail("an exception that is not a std::exception");
      }
    };
  }
  // The store takes no writes (full disk, deleted file): a clear answer that asks to come back
  // later, and one log line a minute for all requests and job ticks together.
  void store_unavailable(const std::string& what) {
    store::store_error_log().report("http: " + request_.path, what);
    constexpr std::string_view message =
        "the service cannot save anything right now; nothing was charged, try again later";
    respond(is_openai_path(request_.path)
                ? openai_error(503, message, "server_error", "store_unavailable")
                : envelope(code::store_unavailable, message));
  }
  void fail(std::string_view what) {
    spdlog::error("http: work for {} threw: {}", request_.path, what);
    respond(is_openai_path(request_.path) ? openai_error(500, "internal error", "server_error")
                                          : envelope(code::unknown_error, "internal error"));
  }

  std::shared_ptr<Pending> p_;
  Request request_;
  std::shared_ptr<ServerImpl> server_;
  Connection::Executor executor_;
};

bool is_timeout(const boost::system::error_code& ec) {
  return ec == beast::error::timeout;
}

bool would_block(const boost::system::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// Writes what the (non-blocking) socket takes at once, and only the rest through the event loop
// under the write timeout: most answers and stream pieces fit the socket buffer, so they cost
// neither a timer nor a trip through the loop.
template <class Serializer>
awaitable<boost::system::error_code> send_message(beast::tcp_stream& stream, Serializer& sr,
                                                  Millis timeout) {
  boost::system::error_code ec;
  while (!sr.is_done() && !ec) bhttp::write_some(stream.socket(), sr, ec);
  if (!ec || !would_block(ec)) co_return ec;
  stream.expires_after(timeout);
  auto [wec, n] = co_await bhttp::async_write(stream, sr, use_tuple);
  co_return wec;
}

awaitable<boost::system::error_code> send_bytes(beast::tcp_stream& stream, std::string_view bytes,
                                                Millis timeout) {
  boost::system::error_code ec;
  while (!bytes.empty()) {
    auto n = stream.socket().write_some(asio::buffer(bytes), ec);
    if (ec) break;
    bytes.remove_prefix(n);
  }
  if (bytes.empty() || !would_block(ec)) co_return ec;
  stream.expires_after(timeout);
  auto [wec, n] = co_await asio::async_write(stream, asio::buffer(bytes), use_tuple);
  co_return wec;
}

// HTTP/1.1 chunked framing of one stream piece (RFC 9112 7.1), in one buffer for one write.
void append_chunk(std::string& out, std::string_view piece) {
  char size[20];
  auto [end, ec] = std::to_chars(size, size + sizeof size, piece.size(), 16);
  out.append(size, end);
  out += "\r\n";
  out += piece;
  out += "\r\n";
}

// Parses what the buffer already holds: the usual keep-alive request arrives whole in one read,
// and then needs no read operation, no timer and no trip through the event loop. Stops at the
// end of the header (or of the body, when `body` is set), at need_more (no error) or at an error.
template <class Parser>
void parse_buffered(Parser& parser, beast::flat_buffer& buffer, bool body,
                    boost::system::error_code& ec) {
  while (buffer.size() > 0 && !(body ? parser.is_done() : parser.is_header_done())) {
    auto used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      return;
    }
    if (ec || used == 0) return;
  }
}

void set_headers(bhttp::fields& f, const Headers& headers) {
  for (const auto& [k, v] : headers) f.insert(k, v);
}

}  // namespace

Connection::Connection(std::shared_ptr<ServerImpl> server, asio::ip::tcp::socket socket,
                       Executor executor)
    : server_(std::move(server)),
      executor_(executor),
      stream_(std::move(socket)),
      // Beast bounds the header by header_limit but not a chunk-size line or the trailer; a bound
      // on the buffer keeps one endless line from filling memory until the read timeout. The
      // parser takes body bytes out as they arrive, so a legal request never needs more.
      buffer_(server_->config.header_limit + kReadChunk),
      signal_(executor_),
      open_(server_->metrics.open_connections) {
  boost::system::error_code ec;
  // Writes are tried at once and only wait in the loop when the socket is full (send_message).
  stream_.socket().non_blocking(true, ec);
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
}

Connection::~Connection() = default;

void Connection::on_drain() {
  closing_ = true;
  if (idle_) {
    boost::system::error_code ec;
    stream_.socket().close(ec);
  }
}

void Connection::force_close() {
  closing_ = true;
  if (current_) cancel_pending(current_);
  boost::system::error_code ec;
  stream_.socket().close(ec);
  signal_.cancel();
}

void Connection::cancel_pending(const std::shared_ptr<Pending>& p) {
  std::function<void()> fn;
  {
    std::lock_guard lock(p->mutex);
    p->direct_fd = -1;  // the socket may be closed next: no piece is sent to it any more
    if (p->cancelled) return;
    p->cancelled = true;
    fn = std::move(p->on_cancel);
  }
  signal_.cancel();
  if (fn) fn();
}

awaitable<void> Connection::wait_signal() {
  signal_.expires_at(std::chrono::steady_clock::time_point::max());
  co_await signal_.async_wait(use_tuple);
}

awaitable<void> Connection::run() {
  auto self = shared_from_this();
  try {
    for (;;) {
      if (closing_ || server_->draining) break;
      if (!co_await serve_one()) break;
    }
  } catch (const std::exception& e) {
    // A handler's answer Beast refuses to write (a 204 with a body, a status past 999): this
    // connection ends, but it must still leave the registry below.
    spdlog::error("http: connection from {} ended by an exception: {}", peer_, e.what());
  }
  boost::system::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
  // An answer still in progress (the connection ended by an exception or an error) is
  // cancelled, so its upstream call stops instead of running on for nobody.
  if (current_) cancel_pending(current_);
  current_.reset();
  server_->remove(this);
}

awaitable<void> Connection::reply_error_and_close(int status, std::string info, bool openai) {
  Response r = openai ? openai_error(status, info, "invalid_request_error")
                      : envelope_status(status, code::bad_parameter, info);
  co_await write_whole(std::move(r), {}, false, version_);
  server_->metrics.requests.labels({"invalid", std::to_string(status)}).inc();
  // Read what the client still sends before closing: closing with unread data makes the kernel
  // send a reset, which can destroy the answer before the client reads it.
  boost::system::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream_.expires_after(server_->config.linger);
  for (;;) {
    buffer_.clear();
    auto [rec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk), use_tuple);
    if (rec) break;
  }
}

// Reads the next request whole. nullopt ends the connection: the peer closed, or an error
// was answered. A coroutine of its own so that the parser and its buffers are gone (not held
// in serve_one's frame) while a long answer streams.
awaitable<std::optional<Connection::Incoming>> Connection::read_request() {
  const auto& cfg = server_->config;
  if (buffer_.size() == 0) {
    // Waiting for the next request: only the idle timeout applies.
    idle_ = true;
    stream_.expires_after(cfg.idle_timeout);
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), use_tuple);
    idle_ = false;
    if (ec) co_return std::nullopt;
    buffer_.commit(n);
  }

  RequestParser parser;
  parser.header_limit(static_cast<std::uint32_t>(cfg.header_limit));
  parser.body_limit(cfg.max_body);
  boost::system::error_code hec;
  parse_buffered(parser, buffer_, false, hec);
  bool timer_armed = false;
  if (!hec && !parser.is_header_done()) {
    stream_.expires_after(cfg.read_timeout);
    timer_armed = true;
    auto [ec, n] = co_await bhttp::async_read_header(stream_, buffer_, parser, use_tuple);
    hec = ec;
  }
  if (!hec && body_length_unknown(parser)) {
    co_await reply_error_and_close(400, "Transfer-Encoding must end in chunked",
                                   is_openai_path(parser.get().target()));
    co_return std::nullopt;
  }
  if (!hec && !parser.is_done()) {
    if (!timer_armed) stream_.expires_after(cfg.read_timeout);
    timer_armed = true;
    auto expect = parser.get()[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, parser.get().version()};
      auto [wec, wn] = co_await bhttp::async_write(stream_, cont, use_tuple);
      if (wec) co_return std::nullopt;
    }
    parse_buffered(parser, buffer_, true, hec);
    if (!hec && !parser.is_done()) {
      auto [bec, bn] = co_await bhttp::async_read(stream_, buffer_, parser, use_tuple);
      hec = bec;
    }
  }
  if (hec) {
    // The request line is parsed before any header field, so its target tells the convention to
    // answer in even when a field or the declared length failed; without one it is the envelope.
    const bool openai = is_openai_path(parser.get().target());
    if (hec == bhttp::error::end_of_stream || hec == asio::error::eof) co_return std::nullopt;
    if (hec == bhttp::error::body_limit) {
      co_await reply_error_and_close(
          413, "request body larger than " + std::to_string(cfg.max_body) + " bytes", openai);
    } else if (hec == bhttp::error::header_limit) {
      co_await reply_error_and_close(431, "request header too large", openai);
    } else if (is_timeout(hec)) {
      co_await reply_error_and_close(408, "request not received in time", openai);
    } else if (hec != asio::error::operation_aborted && hec != asio::error::connection_reset) {
      co_await reply_error_and_close(400, "malformed request: " + hec.message(), openai);
    }
    co_return std::nullopt;
  }

  auto msg = parser.release();
  version_ = static_cast<int>(msg.version());
  const bool keep_alive = msg.keep_alive() && !closing_ && !server_->draining;
  auto request = to_request(msg, peer_, server_->config.trusted_proxies);
  client_ = request ? request->client : peer_;
  if (!request) {
    co_await reply_error_and_close(400, "malformed request target", false);
    co_return std::nullopt;
  }
  co_return Incoming{std::move(*request), keep_alive};
}

awaitable<bool> Connection::serve_one() {
  auto incoming = co_await read_request();
  if (!incoming) co_return false;
  auto started = std::chrono::steady_clock::now();
  auto request = std::make_optional(std::move(incoming->request));
  const bool keep_alive = incoming->keep_alive;
  incoming.reset();

  std::string origin(request->header("Origin"));
  Headers cors_headers = server_->cors.response_headers(origin);
  std::string route;
  int status = 0;
  bool keep = false;

  // An answer that needs no handler is built here and written by the one co_await below, so
  // the coroutine frame holds one Response for all of them.
  std::optional<Response> direct;
  bool direct_cors = true;
  bool direct_keep = keep_alive;
  std::optional<Router::Match> match;
  if (server_->draining) {
    // Stopping: a request that arrives now (on a connection that was busy when the drain began)
    // is refused clearly instead of starting work the stop budget may have to cut.
    route = "draining";
    direct = is_openai_path(request->path)
                 ? openai_error(503, "the server is shutting down", "server_error")
                 : envelope_status(503, code::unknown_error, "the server is shutting down");
    direct->headers.emplace_back("Retry-After", "1");
    direct_keep = false;
  } else if (request->method == "OPTIONS" && !origin.empty() &&
             !request->header("Access-Control-Request-Method").empty()) {
    route = "preflight";
    direct = server_->cors.preflight(origin, request->header("Access-Control-Request-Headers"));
    direct_cors = false;
  } else {
    match = server_->router.match(request->method, request->segments);
    const bool openai = is_openai_path(request->path);
    if (!match->handler && !match->allowed_methods.empty()) {
      route = "method_not_allowed";
      direct = openai ? openai_error(405, "method not allowed", "invalid_request_error")
                      : envelope_status(405, code::bad_parameter, "method not allowed");
      std::string allow;
      for (const auto& m : match->allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
      direct->headers.emplace_back("Allow", allow);
    } else if (!match->handler) {
      route = "not_found";
      direct =
          openai ? openai_error(404, "no such endpoint: " + request->path, "invalid_request_error")
                 : envelope_status(404, code::not_found, "no such endpoint: " + request->path);
    }
  }

  if (direct) {
    status = direct->status;
    // A preflight answer carries its own CORS fields. (Not a conditional expression inside the
    // co_await: g++ 12 destroys such a temporary twice.)
    if (!direct_cors) cors_headers.clear();
    keep = co_await write_whole(std::move(*direct), cors_headers, direct_keep, request->version);
  } else {
    const bool openai = is_openai_path(request->path);
    route = match->route;
    request->params = std::move(match->params);
    const auto handler = match->handler;
    match.reset();
    auto p = std::make_shared<Pending>();
    std::weak_ptr<Connection> weak = weak_from_this();
    auto executor = executor_;
    p->wake = [weak, executor] {
      // On the connection's own loop (a quick handler answering inline, a piece relayed from
      // an upstream stream, which runs on the caller's loop) the wake-up needs no trip through
      // it: each loop is run by exactly one thread (IoRuntime), so nothing of this connection
      // runs meanwhile, whichever strand of the loop calls.
      if (executor.running_in_this_thread()) {
        if (auto c = weak.lock()) c->signal_.cancel();
        return;
      }
      asio::post(executor, [weak] {
        if (auto c = weak.lock()) c->signal_.cancel();
      });
    };
    current_ = p;
    {
      auto ex = std::make_shared<ExchangeImpl>(p, std::move(*request), server_, executor_);
      request.reset();
      try {
        (*handler)(ex);
      } catch (const std::exception& e) {
        spdlog::error("http: handler for {} threw: {}", route, e.what());
        ex->respond(openai ? openai_error(500, "internal error", "server_error")
                           : envelope(code::unknown_error, "internal error"));
      }
    }
    keep = co_await drive(p, cors_headers, keep_alive, status);
    current_.reset();
  }

  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!series_.requests || series_.route != route || series_.status != status) {
    // A series lookup takes the family's lock; a keep-alive client mostly repeats its route.
    series_.route = route;
    series_.status = status;
    series_.requests = &server_->metrics.requests.labels({route, std::to_string(status)});
    series_.latency = &server_->metrics.latency.labels({route});
  }
  series_.requests->inc();
  series_.latency->observe(seconds);
  co_return keep;
}

awaitable<bool> Connection::drive(const std::shared_ptr<Pending>& p, const Headers& cors_headers,
                                  bool keep_alive, int& status) {
  for (;;) {
    std::unique_lock lock(p->mutex);
    if (p->cancelled && p->phase != Pending::Phase::streaming) {
      // The client left (or the drain bound passed) before the answer: nobody to write to.
      p->phase = Pending::Phase::done;
      status = 499;  // nginx's "client closed request", for the metrics only
      co_return false;
    }
    if (p->phase == Pending::Phase::whole) {
      Response r = std::move(p->response);
      p->phase = Pending::Phase::done;
      lock.unlock();
      status = r.status;
      bool keep = keep_alive && !r.close;
      co_return co_await write_whole(std::move(r), cors_headers, keep, version_);
    }
    if (p->phase == Pending::Phase::streaming) {
      lock.unlock();
      co_return co_await stream(p, cors_headers, status);
    }
    lock.unlock();
    // The answer is not ready at once (a chat waits for its upstream, then streams for
    // seconds): the read buffer is given back meanwhile, a few KiB less for each of thousands
    // of open streams. The next request on a kept-alive connection allocates it again.
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
    start_watch(p);
    co_await wait_signal();
  }
}

void Connection::start_watch(const std::shared_ptr<Pending>& p) {
  if (p->watching) return;
  p->watching = true;
  asio::co_spawn(executor_, watch(p), asio::detached);
}

// Notices a client that goes away while its answer is pending or streaming: the socket turns
// readable with EOF or an error. Data instead means a pipelined request: stop watching then.
awaitable<void> Connection::watch(std::shared_ptr<Pending> p) {
  auto self = shared_from_this();
  for (;;) {
    auto [ec] = co_await stream_.socket().async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
    {
      std::lock_guard lock(p->mutex);
      if (p->phase == Pending::Phase::done || p->cancelled) co_return;
    }
    if (!ec) {
      char c;
      ssize_t n = ::recv(stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) co_return;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    }
    cancel_pending(p);
    co_return;
  }
}

// The status line and header of a streamed answer; a coroutine of its own so that the header
// fields and the serializer are freed before the answer's long life begins.
awaitable<bool> Connection::write_stream_head(const std::shared_ptr<Pending>& p,
                                              const Headers& cors_headers, int& status,
                                              bool chunked) {
  bhttp::response<bhttp::empty_body> head;
  {
    std::lock_guard lock(p->mutex);
    head.result(static_cast<unsigned>(p->stream_status));
    status = p->stream_status;
    head.set(bhttp::field::content_type, p->stream_content_type);
    set_headers(head, p->stream_headers);
  }
  head.version(chunked ? 11 : 10);
  set_headers(head, cors_headers);
  head.set(bhttp::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");  // tell a reverse proxy in front not to buffer the stream
  head.keep_alive(false);
  head.chunked(chunked);
  bhttp::response_serializer<bhttp::empty_body> sr{head};
  stream_.expires_after(server_->config.write_timeout);
  auto [hec, hn] = co_await bhttp::async_write_header(stream_, sr, use_tuple);
  co_return !hec;
}

awaitable<bool> Connection::stream(const std::shared_ptr<Pending>& p, const Headers& cors_headers,
                                   int& status) {
  metrics::GaugeGuard open_stream(server_->metrics.open_streams);
  // HTTP/1.0 has no chunked encoding (RFC 9112 6.1): such a client reads raw bytes until the
  // close, which ends every stream anyway.
  const bool chunked = version_ != 10;
  if (!co_await write_stream_head(p, cors_headers, status, chunked)) {
    cancel_pending(p);
    co_return false;
  }
  start_watch(p);
  std::string wire;  // one write's bytes, reused
  for (;;) {
    std::unique_lock lock(p->mutex);
    p->direct_fd = -1;  // this coroutine writes now
    if (p->cancelled) break;
    if (p->direct_failed) {
      lock.unlock();
      cancel_pending(p);
      break;
    }
    if (p->overflow) {
      lock.unlock();
      spdlog::warn("http: stream to {} cancelled: client reads slower than the answer arrives",
                   client_);
      cancel_pending(p);
      break;
    }
    if (!p->unsent.empty() || !p->queued.empty()) {
      // What a direct send left over, then everything queued since the last write as one chunk,
      // in one write.
      wire.clear();
      wire.swap(p->unsent);
      if (chunked && !p->queued.empty())
        append_chunk(wire, p->queued);
      else
        wire += p->queued;
      p->queued.clear();
      lock.unlock();
      auto wec = co_await send_bytes(stream_, wire, server_->config.write_timeout);
      if (wec) {
        cancel_pending(p);
        break;
      }
      continue;
    }
    if (p->finished) {
      p->phase = Pending::Phase::done;
      lock.unlock();
      if (chunked) co_await send_bytes(stream_, "0\r\n\r\n", server_->config.write_timeout);
      co_return false;
    }
    if (p->aborted) {
      p->phase = Pending::Phase::done;
      break;
    }
    // Idle: pieces made on this loop may go straight to the socket until this coroutine runs
    // again (ExchangeImpl::write).
    p->direct_fd = stream_.socket().native_handle();
    p->direct_chunked = chunked;
    lock.unlock();
    stream_.expires_never();
    // Waited for here rather than through wait_signal(): a nested coroutine's frame would be
    // one more allocation held by each of thousands of idle streams.
    signal_.expires_at(std::chrono::steady_clock::time_point::max());
    co_await signal_.async_wait(use_tuple);
  }
  {
    std::lock_guard lock(p->mutex);
    p->phase = Pending::Phase::done;
  }
  co_return false;
}

awaitable<bool> Connection::write_whole(Response r, const Headers& cors_headers, bool keep_alive,
                                        int version) {
  bhttp::response<bhttp::string_body> res;
  res.version(version == 10 ? 10 : 11);
  res.result(static_cast<unsigned>(r.status));
  if (!r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
  set_headers(res, r.headers);
  set_headers(res, cors_headers);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  bhttp::response_serializer<bhttp::string_body> sr{res};
  auto ec = co_await send_message(stream_, sr, server_->config.write_timeout);
  co_return !ec && keep_alive;
}

}  // namespace chatglmd::http
