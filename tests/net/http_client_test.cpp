#include "net/http_client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <thread>

#include "net/scripted_server.hpp"
#include "net/url.hpp"
#include "support/ports.hpp"

namespace chatglmd::net {
namespace {

using namespace std::chrono_literals;
using testing::ScriptedConnection;
using testing::ScriptedServer;
using testing::Signal;

// The io_context is run by several threads, as in the daemon, so strand mistakes show up here.
class IoThreads {
 public:
  explicit IoThreads(int count = 2) : guard_(io.get_executor()) {
    for (int i = 0; i < count; ++i) threads_.emplace_back([this] { io.run(); });
  }
  ~IoThreads() {
    guard_.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

Timeouts quick() {
  Timeouts t;
  t.connect = 2s;
  t.write = 2s;
  t.first_byte = 2s;
  t.idle = 2s;
  return t;
}

std::string ok_response(std::string_view body, std::string_view extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

const char* kChunkedHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

// Collects a stream's callbacks and lets the test wait for its end.
struct StreamProbe {
  std::mutex mutex;
  int status = 0;
  std::vector<std::string> pieces;
  std::promise<std::optional<NetError>> done;
  Signal first_piece;

  StreamCallbacks callbacks() {
    StreamCallbacks cb;
    cb.on_head = [this](int s, const Headers&) {
      status = s;
      return true;
    };
    cb.on_data = [this](std::string_view piece) {
      {
        std::lock_guard lock(mutex);
        pieces.emplace_back(piece);
      }
      first_piece.set();
      return true;
    };
    cb.on_done = [this](std::optional<NetError> error) { done.set_value(std::move(error)); };
    return cb;
  }
  std::string body() {
    std::lock_guard lock(mutex);
    std::string all;
    for (auto& p : pieces) all += p;
    return all;
  }
};

// Bodies are read on a loop that several threads run, through a strand (the gateway client), and
// on loops of one thread each, without one (the daemon's chat client).
class HttpClientBody : public ::testing::TestWithParam<bool> {
 protected:
  HttpClient::Options options(HttpClient::Options o = {}) const {
    o.one_thread_per_loop = GetParam();
    return o;
  }
  IoThreads io{GetParam() ? 1 : 2};
};

INSTANTIATE_TEST_SUITE_P(ReadPaths, HttpClientBody, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "LoopOfOneThread" : "StrandOnASharedLoop";
                         });

TEST(HttpResponseTest, HeaderLookupIgnoresCase) {
  HttpResponse r;
  r.headers = {{"Content-Type", "text/event-stream"}, {"X-Request-Id", "r1"}};
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  EXPECT_EQ(r.header("X-REQUEST-ID"), "r1");
  EXPECT_EQ(r.header("Content-Typ"), "");
}

TEST(UrlTest, PlainHttpOnlyForLoopback) {
  std::string why;
  EXPECT_TRUE(parse_url("http://127.0.0.1:8080/a?b=1", why));
  EXPECT_TRUE(parse_url("http://127.3.2.1/", why));
  EXPECT_TRUE(parse_url("http://localhost:1/", why));
  EXPECT_TRUE(is_loopback_host("LocalHost"));  // host names are case-insensitive
  EXPECT_FALSE(is_loopback_host("localhost.example.com"));
  EXPECT_TRUE(parse_url("http://[::1]:8080/", why));
  EXPECT_FALSE(parse_url("http://example.com/", why));
  EXPECT_FALSE(parse_url("http://10.0.0.1/", why));
  EXPECT_FALSE(parse_url("http://128.0.0.1/", why));
  EXPECT_FALSE(parse_url("ftp://127.0.0.1/", why));
  EXPECT_FALSE(parse_url("not a url", why));
  auto url = parse_url("https://open.bigmodel.cn/api/paas/v4/chat/completions?x=1", why);
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->host_header, "open.bigmodel.cn");
  EXPECT_EQ(url->target, "/api/paas/v4/chat/completions?x=1");
  auto local = parse_url("http://127.0.0.1:8080", why);
  ASSERT_TRUE(local);
  EXPECT_EQ(local->target, "/");
  EXPECT_EQ(local->host_header, "127.0.0.1:8080");
}

TEST(HttpClientTest, NonLoopbackPlainHttpIsRefusedAsBadUrl) {
  IoThreads io;
  HttpClient client(io.io);
  auto result = client.fetch({"GET", "http://example.com/", {}, ""}, quick());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, NetErrorKind::BadUrl);
  StreamProbe probe;
  auto handle =
      client.async_stream({"GET", "http://93.184.216.34/", {}, ""}, quick(), probe.callbacks());
  auto error = probe.done.get_future().get();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind, NetErrorKind::BadUrl);
}

TEST_P(HttpClientBody, FetchesBodyAndSendsRequest) {
  std::promise<ScriptedConnection::Request> seen;
  ScriptedServer server([&](ScriptedConnection& c) {
    auto request = c.read_request();
    if (!request) return;
    seen.set_value(*request);
    c.write(ok_response("hello", "X-Test: yes\r\n"));
    c.wait_closed();
  });
  HttpClient client(io.io, options());
  auto result = client.fetch(
      {"POST", server.url("/path?q=1"), {{"Content-Type", "application/json"}}, "{\"a\":1}"},
      quick());
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.response->status, 200);
  EXPECT_EQ(result.response->body, "hello");
  EXPECT_EQ(result.response->header("x-TEST"), "yes");
  EXPECT_EQ(result.response->header("absent"), "");
  auto request = seen.get_future().get();
  EXPECT_EQ(request.method_string(), "POST");
  EXPECT_EQ(request.target(), "/path?q=1");
  EXPECT_EQ(request.body(), "{\"a\":1}");
  EXPECT_EQ(request[boost::beast::http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(request[boost::beast::http::field::content_type], "application/json");
}

TEST(HttpClientTest, ReusesKeptAliveConnection) {
  std::atomic<int> requests{0};
  ScriptedServer server([&](ScriptedConnection& c) {
    while (auto request = c.read_request()) {
      ++requests;
      c.write(ok_response("n" + std::to_string(requests.load())));
    }
  });
  IoThreads io;
  HttpClient client(io.io);
  for (int i = 1; i <= 3; ++i) {
    auto result = client.fetch({"GET", server.url(), {}, ""}, quick());
    ASSERT_TRUE(result.ok()) << result.error.message;
    EXPECT_EQ(result.response->body, "n" + std::to_string(i));
  }
  EXPECT_EQ(requests, 3);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientTest, NoReuseWhenPoolIsDisabled) {
  ScriptedServer server([&](ScriptedConnection& c) {
    while (auto request = c.read_request()) c.write(ok_response("x"));
  });
  IoThreads io;
  HttpClient client(io.io, HttpClient::Options{true, 8 << 20, 0});
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(client.fetch({"GET", server.url(), {}, ""}, quick()).ok());
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClientTest, RetriesOnceWhenKeptConnectionWasClosedWhileIdle) {
  ScriptedServer server([&](ScriptedConnection& c) {
    if (auto request = c.read_request()) c.write(ok_response("conn" + std::to_string(c.index())));
    c.close();  // no "Connection: close": the client only learns it on the next request
  });
  IoThreads io;
  HttpClient client(io.io);
  auto first = client.fetch({"GET", server.url(), {}, ""}, quick());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.response->body, "conn0");
  auto second = client.fetch({"GET", server.url(), {}, ""}, quick());
  ASSERT_TRUE(second.ok()) << second.error.message;
  EXPECT_EQ(second.response->body, "conn1");
}

TEST(HttpClientTest, RefusedConnectionIsConnectError) {
  const int port = testing::free_port();
  IoThreads io;
  HttpClient client(io.io);
  auto result =
      client.fetch({"GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, ""}, quick());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, NetErrorKind::Connect) << result.error.message;
}

TEST(HttpClientTest, ConnectTimeout) {
  // With backlog 0 and nobody accepting, Linux drops further SYNs once the accept queue is full,
  // so a connect hangs until the client gives up.
  boost::asio::io_context raw_io;
  boost::asio::ip::tcp::acceptor listener(raw_io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  listener.listen(0);
  const auto endpoint = listener.local_endpoint();
  std::vector<int> fillers;  // raw non-blocking sockets: Asio would wait for these connects
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(endpoint.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  IoThreads io;
  HttpClient client(io.io);
  Timeouts t = quick();
  t.connect = 300ms;
  auto result =
      client.fetch({"GET", "http://127.0.0.1:" + std::to_string(endpoint.port()) + "/", {}, ""}, t);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, NetErrorKind::Timeout) << result.error.message;
  for (int fd : fillers) ::close(fd);
}

TEST(HttpClientTest, WriteTimeoutWhenServerNeverReads) {
  Signal client_done;
  ScriptedServer server([&](ScriptedConnection&) { client_done.wait(); });
  IoThreads io;
  HttpClient client(io.io);
  Timeouts t = quick();
  t.write = 300ms;
  auto result = client.fetch({"POST", server.url(), {}, std::string(64 << 20, 'x')}, t);
  client_done.set();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, NetErrorKind::Timeout) << result.error.message;
}

TEST(HttpClientTest, FirstByteTimeoutAndSocketIsClosed) {
  std::promise<bool> closed;
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    closed.set_value(c.wait_closed());
  });
  IoThreads io;
  HttpClient client(io.io);
  Timeouts t = quick();
  t.first_byte = 200ms;
  auto result = client.fetch({"GET", server.url(), {}, ""}, t);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, NetErrorKind::Timeout) << result.error.message;
  EXPECT_TRUE(closed.get_future().get());
}

TEST_P(HttpClientBody, IdleTimeoutBetweenBodyPieces) {
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write(kChunkedHead);
    c.write(chunk("first"));
    c.wait_closed();
  });
  HttpClient client(io.io, options());
  Timeouts t = quick();
  t.idle = 200ms;
  StreamProbe probe;
  auto handle = client.async_stream({"GET", server.url(), {}, ""}, t, probe.callbacks());
  auto error = probe.done.get_future().get();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind, NetErrorKind::Timeout) << error->message;
  EXPECT_EQ(probe.body(), "first");
}

TEST_P(HttpClientBody, StreamDeliversPiecesAsTheyArriveEvenInsideUtf8) {
  const std::string text = "data: 你好，世界\n\n";
  StreamProbe probe;
  std::atomic<bool> in_order{true};
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write(kChunkedHead);
    // Pieces cut inside multi-byte characters; each goes out only after the previous one arrived.
    const std::size_t cuts[] = {0, 7, 8, 13, text.size()};
    for (int i = 0; i + 1 < 5; ++i) {
      c.write(chunk(text.substr(cuts[i], cuts[i + 1] - cuts[i])));
      if (i == 0 && !probe.first_piece.wait()) in_order = false;
    }
    c.write("0\r\n\r\n");
    c.wait_closed();
  });
  HttpClient client(io.io, options());
  auto handle = client.async_stream({"GET", server.url(), {}, ""}, quick(), probe.callbacks());
  auto error = probe.done.get_future().get();
  EXPECT_FALSE(error) << error->message;
  EXPECT_TRUE(in_order);
  EXPECT_EQ(probe.status, 200);
  EXPECT_EQ(probe.body(), text);
  EXPECT_GE(probe.pieces.size(), 2u);
  EXPECT_EQ(probe.pieces.front(), text.substr(0, 7));
}

// Chunks that arrive in one read go on in one piece, so that a relay writes them in one send;
// bytes that arrive apart still go on as they arrive.
TEST_P(HttpClientBody, ChunksOfOneReadGoOnInOnePiece) {
  StreamProbe probe;
  Signal second_piece;
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write(std::string(kChunkedHead) + chunk("data: 0\n\n"));
    if (!probe.first_piece.wait()) return;
    c.write(chunk("data: 1\n\n") + chunk("data: 2\n\n") + chunk("data: 3\n\n"));
    if (!second_piece.wait()) return;
    c.write("0\r\n\r\n");
    c.wait_closed();
  });
  HttpClient client(io.io, options());
  auto callbacks = probe.callbacks();
  callbacks.on_data = [&, on_data = callbacks.on_data](std::string_view piece) {
    on_data(piece);
    std::lock_guard lock(probe.mutex);
    if (probe.pieces.size() == 2) second_piece.set();
    return true;
  };
  auto handle = client.async_stream({"GET", server.url(), {}, ""}, quick(), callbacks);
  auto error = probe.done.get_future().get();
  EXPECT_FALSE(error) << error->message;
  ASSERT_EQ(probe.pieces.size(), 2u);
  EXPECT_EQ(probe.pieces[0], "data: 0\n\n");
  EXPECT_EQ(probe.pieces[1], "data: 1\n\ndata: 2\n\ndata: 3\n\n");
}

// A stream written a byte at a time, so that chunk sizes, their line ends and the data are cut
// everywhere between reads.
TEST_P(HttpClientBody, StreamCutEverywhereArrivesWhole) {
  std::string expected;
  std::string wire;
  for (int i = 0; i < 40; ++i) {
    std::string event = "data: {\"n\":" + std::to_string(i) + ",\"t\":\"你好\"}\n\n";
    expected += event;
    wire += chunk(event);
  }
  wire += "0\r\n\r\n";
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write(kChunkedHead);
    for (char byte : wire)
      if (!c.write(std::string_view(&byte, 1))) return;
    c.wait_closed();
  });
  HttpClient client(io.io, options());
  StreamProbe probe;
  auto handle = client.async_stream({"GET", server.url(), {}, ""}, quick(), probe.callbacks());
  auto error = probe.done.get_future().get();
  EXPECT_FALSE(error) << error->message;
  EXPECT_EQ(probe.body(), expected);
}

TEST_P(HttpClientBody, BodyUntilCloseIsComplete) {
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ");
    c.write("part two");
    c.close();
  });
  HttpClient client(io.io, options());
  auto result = client.fetch({"GET", server.url(), {}, ""}, quick());
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.response->body, "part one, part two");
}

TEST_P(HttpClientBody, TruncatedBodyIsBadResponse) {
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a little");
    c.close();
  });
  HttpClient client(io.io, options());
  auto result = client.fetch({"GET", server.url(), {}, ""}, quick());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, NetErrorKind::BadResponse) << result.error.message;
}

TEST_P(HttpClientBody, TruncatedChunkedStreamIsAnError) {
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write(kChunkedHead);
    c.write(chunk("data: partial"));
    c.close();
  });
  HttpClient client(io.io, options());
  StreamProbe probe;
  auto handle = client.async_stream({"GET", server.url(), {}, ""}, quick(), probe.callbacks());
  auto error = probe.done.get_future().get();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind, NetErrorKind::BadResponse) << error->message;
  EXPECT_EQ(probe.body(), "data: partial");
}

TEST_P(HttpClientBody, OversizedBodyIsBadResponse) {
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write(ok_response(std::string(4096, 'b')));
    c.wait_closed();
  });
  HttpClient client(io.io, options({true, 1024, 16}));
  auto result = client.fetch({"GET", server.url(), {}, ""}, quick());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, NetErrorKind::BadResponse) << result.error.message;
}

// Beast bounds the response header but not a chunk-size line or the trailer, and streams have no
// body limit: an upstream that never ends such a line must not make the client keep all of it
// (the idle timeout never fires while bytes keep coming).
TEST_P(HttpClientBody, ChunkLineOrTrailerThatNeverEndsIsBadResponse) {
  for (std::string start : {"1;ext=", "0\r\nX-Trailer: "}) {
    Signal client_closed;
    ScriptedServer server([&](ScriptedConnection& c) {
      c.read_request();
      if (!c.write(kChunkedHead) || !c.write(start)) return;
      const std::string piece(64 * 1024, 'a');
      for (std::size_t sent = 0; sent < (16u << 20) && c.write(piece);) sent += piece.size();
      if (c.wait_closed(10s)) client_closed.set();
    });
    HttpClient client(io.io, options());
    StreamProbe probe;
    Timeouts t = quick();
    t.idle = 30s;  // only a bound on what is kept may end this early
    auto handle = client.async_stream({"GET", server.url(), {}, ""}, t, probe.callbacks());
    auto done = probe.done.get_future();
    ASSERT_EQ(done.wait_for(20s), std::future_status::ready);
    auto error = done.get();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind, NetErrorKind::BadResponse) << error->message;
    EXPECT_TRUE(client_closed.wait(10s))
        << "the client read the endless line to its end: " << start;
  }
}

TEST(HttpClientTest, NotHttpIsAnError) {
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write("SSH-2.0-OpenSSH\r\n\r\n");
    c.wait_closed();
  });
  IoThreads io;
  HttpClient client(io.io);
  auto result = client.fetch({"GET", server.url(), {}, ""}, quick());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, NetErrorKind::BadResponse) << result.error.message;
}

void cancel_mid_stream(IoThreads& io, HttpClient::Options options, bool by_destroying) {
  std::promise<bool> closed;
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write(kChunkedHead);
    c.write(chunk("first"));
    closed.set_value(c.wait_closed());
  });
  HttpClient client(io.io, options);
  StreamProbe probe;
  Timeouts t = quick();
  t.idle = 30s;  // only the cancel may end this stream
  auto handle = client.async_stream({"GET", server.url(), {}, ""}, t, probe.callbacks());
  ASSERT_TRUE(probe.first_piece.wait());
  if (by_destroying)
    handle.reset();
  else
    handle->cancel();
  auto done = probe.done.get_future();
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  auto error = done.get();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind, NetErrorKind::Cancelled);
  EXPECT_TRUE(closed.get_future().get()) << "the server never saw the connection close";
}

TEST_P(HttpClientBody, CancelMidStreamClosesSocketAtOnce) {
  cancel_mid_stream(io, options(), false);
}
TEST_P(HttpClientBody, DestroyingHandleCancels) {
  cancel_mid_stream(io, options(), true);
}

TEST_P(HttpClientBody, ReceiverCanAbortFromOnData) {
  std::promise<bool> closed;
  ScriptedServer server([&](ScriptedConnection& c) {
    c.read_request();
    c.write(kChunkedHead);
    c.write(chunk("stop here"));
    closed.set_value(c.wait_closed());
  });
  HttpClient client(io.io, options());
  std::promise<std::optional<NetError>> done;
  StreamCallbacks cb;
  cb.on_data = [](std::string_view) { return false; };
  cb.on_done = [&](std::optional<NetError> e) { done.set_value(e); };
  auto handle = client.async_stream({"GET", server.url(), {}, ""}, quick(), cb);
  auto error = done.get_future().get();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind, NetErrorKind::Cancelled);
  EXPECT_TRUE(closed.get_future().get());
}

TEST(HttpClientTest, ManyConcurrentRequestsOnSeveralIoThreads) {
  ScriptedServer server([&](ScriptedConnection& c) {
    while (auto request = c.read_request()) c.write(ok_response(std::string(request->target())));
  });
  IoThreads io(4);
  HttpClient client(io.io, HttpClient::Options{true, 8 << 20, 4});
  constexpr int kCount = 64;
  std::vector<std::promise<FetchResult>> results(kCount);
  for (int i = 0; i < kCount; ++i) {
    client.async_fetch({"GET", server.url("/r" + std::to_string(i)), {}, ""}, quick(),
                       [&results, i](FetchResult r) { results[i].set_value(std::move(r)); });
  }
  for (int i = 0; i < kCount; ++i) {
    auto r = results[i].get_future().get();
    ASSERT_TRUE(r.ok()) << r.error.message;
    EXPECT_EQ(r.response->body, "/r" + std::to_string(i));
  }
  EXPECT_LE(server.connections(), kCount);
}

// The daemon's chat client: two loops of one thread each, no strand. Streams relay and cancel
// from another thread, and kept-alive connections move between requests of both loops.
TEST(HttpClientTest, LoopsOfOneThreadEachNeedNoStrand) {
  ScriptedServer server([&](ScriptedConnection& c) {
    while (auto request = c.read_request()) {
      if (request->target() != "/stream") {
        c.write(ok_response(std::string(request->target())));
        continue;
      }
      c.write(kChunkedHead);
      c.write(chunk("first"));
      c.wait_closed();
      return;
    }
  });
  IoThreads a(1), b(1);
  std::atomic<int> turn{0};
  HttpClient::Options options;
  options.one_thread_per_loop = true;
  HttpClient client([&]() -> boost::asio::io_context& { return turn++ % 2 == 0 ? a.io : b.io; },
                    options);
  for (int i = 0; i < 16; ++i) {
    auto r = client.fetch({"GET", server.url("/r" + std::to_string(i)), {}, ""}, quick());
    ASSERT_TRUE(r.ok()) << r.error.message;
    EXPECT_EQ(r.response->body, "/r" + std::to_string(i));
  }
  EXPECT_EQ(server.connections(), 1);  // one kept-alive connection served both loops
  StreamProbe probe;
  Timeouts t = quick();
  t.idle = 30s;  // only the cancel may end this stream
  auto handle = client.async_stream({"GET", server.url("/stream"), {}, ""}, t, probe.callbacks());
  ASSERT_TRUE(probe.first_piece.wait());
  handle->cancel();
  auto done = probe.done.get_future();
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  auto error = done.get();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind, NetErrorKind::Cancelled);
  EXPECT_EQ(probe.body(), "first");
}

}  // namespace
}  // namespace chatglmd::net
