#include "net/exchange.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

namespace chatglmd::net::detail {

namespace http = beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

ClientShared::ClientShared(HttpClient::LoopPicker pick, HttpClient::Options opts)
    : pick_io(std::move(pick)),
      options(opts),
      ssl(asio::ssl::context::tls_client),
      pool(opts.max_idle_per_host) {
  ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  ssl.set_verify_mode(options.verify_tls ? asio::ssl::verify_peer : asio::ssl::verify_none);
}

// The system's trust store takes about 15 ms to parse: read at the first TLS connection, so a
// client that speaks only plain HTTP (a `jobs run` against a loopback gateway) never pays it.
asio::ssl::context& ClientShared::tls_context() {
  std::call_once(trust_store_read, [this] {
    if (options.verify_tls) ssl.set_default_verify_paths();
  });
  return ssl;
}

Exchange::Exchange(std::shared_ptr<ClientShared> shared, ParsedUrl url, HttpRequest request,
                   Timeouts timeouts, StreamCallbacks callbacks,
                   std::optional<std::uint64_t> body_limit)
    : shared_(std::move(shared)),
      url_(std::move(url)),
      request_(std::move(request)),
      timeouts_(timeouts),
      callbacks_(std::move(callbacks)),
      body_limit_(body_limit) {}

void Exchange::start() {
  auto& loop = shared_->pick_io();
  connection_ = shared_->pool.take(url_.pool_key(), &loop);
  if (connection_)
    strand_ = connection_->strand;
  else if (shared_->options.one_thread_per_loop)
    strand_ = Strand(loop.get_executor());  // its one thread orders the handlers already
  else
    strand_ = Strand(asio::make_strand(loop));
  {
    std::lock_guard lock(shared_->live_mutex);
    if (shared_->shut_down) cancelled_ = true;  // run() ends at once with Cancelled
    shared_->live.insert_or_assign(this, weak_from_this());
  }
  asio::co_spawn(
      *strand_, [self = shared_from_this()] { return self->run(); }, asio::detached);
}

void Exchange::cancel() {
  if (cancelled_.exchange(true)) return;
  asio::post(*strand_, [self = shared_from_this()] {
    if (self->finished_) return;
    if (self->resolver_) self->resolver_->cancel();
    if (self->connection_) {
      error_code ignored;
      self->connection_->tcp().socket().close(ignored);
    }
  });
}

asio::awaitable<void> Exchange::run() {
  std::optional<NetError> error;
  try {
    for (int attempt = 0;; ++attempt) {
      if (cancelled_) {
        error = NetError{NetErrorKind::Cancelled, "cancelled"};
        break;
      }
      const bool reused = connection_ != nullptr;
      if (!reused) {
        error = co_await connect();
        if (error) break;
      }
      Outcome outcome =
          co_await connection_->visit([this](auto& stream) { return exchange(stream); });
      if (outcome.error && outcome.retryable && reused && attempt == 0 && !cancelled_) {
        connection_.reset();  // the server had closed it while idle; one fresh try is safe
        continue;
      }
      error = outcome.error;
      if (!error && outcome.reusable && !cancelled_) {
        connection_->tcp().expires_never();
        shared_->pool.give_back(url_.pool_key(), std::move(connection_));
      }
      break;
    }
  } catch (const std::exception& e) {
    error = NetError{NetErrorKind::Io, std::string("internal error: ") + e.what()};
  }
  finish(std::move(error));
}

void Exchange::finish(std::optional<NetError> error) {
  finished_ = true;
  {
    std::lock_guard lock(shared_->live_mutex);
    shared_->live.erase(this);
  }
  connection_.reset();  // anything not handed back to the pool is closed here
  if (callbacks_.on_done) {
    auto done = std::move(callbacks_.on_done);
    callbacks_ = {};
    done(std::move(error));
  }
}

NetError Exchange::error_for(const error_code& ec, NetErrorKind otherwise,
                             const char* phase) const {
  if (cancelled_) return {NetErrorKind::Cancelled, "cancelled"};
  if (ec == beast::error::timeout)
    return {NetErrorKind::Timeout, std::string(phase) + " timed out"};
  return {otherwise, std::string(phase) + ": " + ec.message()};
}

asio::awaitable<std::optional<NetError>> Exchange::connect() {
  connection_ = std::make_unique<Connection>(*strand_, url_.tls,
                                             url_.tls ? shared_->tls_context() : shared_->ssl);
  const auto deadline = std::chrono::steady_clock::now() + timeouts_.connect;
  auto& tcp_stream = connection_->tcp();

  // An address needs no lookup: Asio's resolver runs every lookup on one thread of its own, so
  // K chats starting at once would queue there behind each other.
  if (url_.host_is_ip) {
    error_code aec;
    auto address = asio::ip::make_address(url_.host, aec);
    unsigned short port = 0;
    auto [end, pec] = std::from_chars(url_.port.data(), url_.port.data() + url_.port.size(), port);
    if (!aec && pec == std::errc() && end == url_.port.data() + url_.port.size()) {
      tcp_stream.expires_at(deadline);
      auto [cec] = co_await tcp_stream.async_connect(tcp::endpoint(address, port), use_tuple);
      if (cec) co_return error_for(cec, NetErrorKind::Connect, "connect");
      co_return co_await finish_connect();
    }
  }

  // The resolver has no timeout of its own; a timer on the same strand cancels it. The timer's
  // handler shares ownership of what it touches: when the deadline passes just as the resolve
  // completes, the handler is already queued, cancel() cannot stop it, and it runs after this
  // frame is gone.
  struct Resolve {
    explicit Resolve(const Strand& s) : resolver(s) {}
    tcp::resolver resolver;
    bool timed_out = false;
  };
  auto resolve = std::make_shared<Resolve>(*strand_);
  asio::steady_timer timer(*strand_);
  timer.expires_at(deadline);
  timer.async_wait([resolve](error_code ec) {
    if (ec) return;
    resolve->timed_out = true;
    resolve->resolver.cancel();
  });
  resolver_ = &resolve->resolver;
  auto [rec, results] = co_await resolve->resolver.async_resolve(url_.host, url_.port, use_tuple);
  resolver_ = nullptr;
  timer.cancel();
  if (cancelled_) co_return NetError{NetErrorKind::Cancelled, "cancelled"};
  if (resolve->timed_out) co_return NetError{NetErrorKind::Timeout, "resolve timed out"};
  if (rec) co_return NetError{NetErrorKind::Connect, "resolve " + url_.host + ": " + rec.message()};

  tcp_stream.expires_at(deadline);
  auto [cec, endpoint] = co_await tcp_stream.async_connect(results, use_tuple);
  if (cec) co_return error_for(cec, NetErrorKind::Connect, "connect");
  co_return co_await finish_connect();
}

// After the TCP connect: no Nagle delay, the TLS handshake for https, no timer left running.
asio::awaitable<std::optional<NetError>> Exchange::finish_connect() {
  auto& tcp_stream = connection_->tcp();
  error_code ignored;
  tcp_stream.socket().set_option(tcp::no_delay(true), ignored);  // SSE pieces must not wait

  if (connection_->tls_stream) {
    auto& tls = *connection_->tls_stream;
    if (!url_.host_is_ip && !SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str()))
      co_return NetError{NetErrorKind::Connect, "cannot set TLS server name"};
    if (shared_->options.verify_tls)
      tls.set_verify_callback(asio::ssl::host_name_verification(url_.host));
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) co_return error_for(hec, NetErrorKind::Connect, "TLS handshake");
  }
  tcp_stream.expires_never();
  co_return std::nullopt;
}

namespace {

bool is_http_error(const error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::end_of_stream).category();
}

// The idle timeout of a response body: one timer for the whole body instead of one armed and
// cancelled around every read (a relayed stream reads once per token, and each re-arm cost a
// timer operation and one more completion through the strand). A read only notes its time;
// when the timer fires it closes the socket if nothing came for `idle`, else waits for what is
// left. The handler shares ownership of what it touches (as the resolver's timer does): it may
// already be queued when the body ends.
struct IdleWatch {
  IdleWatch(const Strand& strand, std::chrono::milliseconds idle, beast::tcp_stream& stream)
      : timer(strand), idle(idle), stream(&stream) {}
  static void arm(const std::shared_ptr<IdleWatch>& self) {
    self->timer.expires_at(self->last_read + self->idle);
    self->timer.async_wait([self](error_code ec) {
      if (ec || self->stream == nullptr) return;
      if (std::chrono::steady_clock::now() - self->last_read < self->idle) return arm(self);
      self->expired = true;
      error_code ignored;
      self->stream->socket().close(ignored);  // the read in progress ends with an error
    });
  }
  asio::steady_timer timer;
  std::chrono::milliseconds idle;
  beast::tcp_stream* stream;  // null once the body has ended: the connection may be reused
  std::chrono::steady_clock::time_point last_read = std::chrono::steady_clock::now();
  bool expired = false;
};

// Ends the watch when the body loop is left, by whatever path.
struct IdleWatchStop {
  std::shared_ptr<IdleWatch> watch;
  ~IdleWatchStop() {
    watch->stream = nullptr;
    watch->timer.cancel();
  }
};

// One read of body bytes into the buffer, as much as the socket holds (up to 64 KiB).
template <class Stream>
asio::awaitable<error_code> read_more(Stream& stream, beast::flat_buffer& buffer) {
  const std::size_t size = beast::read_size(buffer, 65536);
  if (size == 0) co_return http::error::buffer_overflow;  // a line that never ends (kMaxBuffered)
  auto [ec, n] = co_await stream.async_read_some(buffer.prepare(size), use_tuple);
  buffer.commit(n);
  co_return ec;
}

// Parses what the buffer holds, as far as it goes: an eager parser takes every chunk of a read in
// one pass, so the body of one read is handed on in one piece. need_more is no error here.
template <class Parser>
error_code parse_buffered(Parser& parser, beast::flat_buffer& buffer) {
  error_code ec;
  while (buffer.size() > 0 && !parser.is_done()) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) return {};
    if (ec || used == 0) break;
  }
  return ec;
}

bool dead_connection(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

}  // namespace

// The request message lives only in this coroutine's frame, so its fields and body copy are
// freed before a streamed answer's long read begins.
template <class Stream>
asio::awaitable<error_code> Exchange::send_request(Stream& stream) {
  auto& tcp_stream = connection_->tcp();
  http::request<http::string_body> req;
  req.method_string(request_.method);
  req.target(url_.target);
  req.version(11);
  req.set(http::field::host, url_.host_header);
  req.set(http::field::user_agent, "chatglmd/0.1");
  for (const auto& [name, value] : request_.headers) req.set(name, value);
  req.body() = request_.body;
  req.prepare_payload();
  req.keep_alive(true);

  tcp_stream.expires_after(timeouts_.write);
  auto [wec, written] = co_await http::async_write(stream, req, use_tuple);
  co_return wec;
}

template <class Stream>
asio::awaitable<Exchange::Outcome> Exchange::exchange(Stream& stream) {
  auto& tcp_stream = connection_->tcp();
  const error_code wec = co_await send_request(stream);
  if (wec) co_return Outcome{error_for(wec, NetErrorKind::Io, "write"), dead_connection(wec)};

  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit_ ? boost::optional<std::uint64_t>(*body_limit_) : boost::none);
  if (request_.method == "HEAD") parser.skip(true);
  auto& buffer = connection_->buffer;

  tcp_stream.expires_after(timeouts_.first_byte);
  auto [hec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
  if (hec) {
    const bool nothing_came = !parser.got_some() && dead_connection(hec);
    NetErrorKind kind = NetErrorKind::BadResponse;
    if (dead_connection(hec) || !is_http_error(hec)) kind = NetErrorKind::Io;
    co_return Outcome{error_for(hec, kind, "response head"), nothing_came};
  }
  const auto& head = parser.get();
  if (callbacks_.on_head) {
    Headers headers;
    for (const auto& field : head)
      headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    if (!callbacks_.on_head(static_cast<int>(head.result_int()), headers))
      co_return Outcome{NetError{NetErrorKind::Cancelled, "aborted by the receiver"}};
  }

  auto deliver = [&]() -> bool {
    auto& body = parser.get().body();
    if (body.empty()) return true;
    bool keep_going = !callbacks_.on_data || callbacks_.on_data(body);
    body.clear();  // the parser appends at the current size, so the piece is not kept
    return keep_going;
  };
  tcp_stream.expires_never();
  std::optional<IdleWatchStop> watching;  // only for a body that did not come with the head
  if (!parser.is_done()) {
    watching.emplace(std::make_shared<IdleWatch>(*strand_, timeouts_.idle, tcp_stream));
    IdleWatch::arm(watching->watch);
  }
  // The body is read here rather than by Beast's read_some, which parses one chunk per
  // completion (a relayed token took three completions: its chunk's size line, its data, and
  // the read that waits for the next one). An eager parser takes every chunk a read brought, so
  // a read costs one completion and its body goes on in one piece (a relay sends it at once).
  parser.eager(true);
  if (auto pec = parse_buffered(parser, buffer))  // body bytes that came with the head
    co_return Outcome{error_for(pec, NetErrorKind::BadResponse, "response body")};
  while (!parser.is_done()) {
    if (!deliver()) co_return Outcome{NetError{NetErrorKind::Cancelled, "aborted by the receiver"}};
    error_code rec = co_await read_more(stream, buffer);
    if (rec == asio::error::eof) {
      rec = {};
      parser.put_eof(rec);  // as Beast's read_some: a body read until the close ends here
    } else if (!rec) {
      rec = parse_buffered(parser, buffer);
    }
    watching->watch->last_read = std::chrono::steady_clock::now();
    if (!deliver()) co_return Outcome{NetError{NetErrorKind::Cancelled, "aborted by the receiver"}};
    if (rec) {
      if (watching->watch->expired && !cancelled_)
        co_return Outcome{NetError{NetErrorKind::Timeout, "response body timed out"}};
      NetErrorKind kind = NetErrorKind::Io;
      if (rec == http::error::partial_message)
        kind = NetErrorKind::BadResponse;
      else if (rec == http::error::body_limit)
        kind = NetErrorKind::BadResponse;
      else if (is_http_error(rec) && rec != http::error::end_of_stream)
        kind = NetErrorKind::BadResponse;
      const char* what = rec == http::error::partial_message ? "body cut short" : "response body";
      co_return Outcome{error_for(rec, kind, what)};
    }
  }
  if (!deliver()) co_return Outcome{NetError{NetErrorKind::Cancelled, "aborted by the receiver"}};
  tcp_stream.expires_never();
  // Leftover bytes would be a pipelined response we never asked for: not safe to reuse.
  co_return Outcome{std::nullopt, false, parser.keep_alive() && buffer.size() == 0};
}

}  // namespace chatglmd::net::detail
