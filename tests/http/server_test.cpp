#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "http/response.hpp"
#include "socket_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "test_server.hpp"

namespace chatglmd::http {
namespace {

using chatglmd::testing::raw_http;
using testing::body_of;
using testing::dechunk;
using testing::SocketClient;
using testing::status_of;
using testing::TestServer;
using namespace std::chrono_literals;

boost::json::value json_of(const std::string& response) {
  return boost::json::parse(body_of(response));
}

Router basic_router() {
  Router r;
  r.add_sync("GET", "/ping", [](const Request&) { return Response::text(200, "pong"); });
  r.add_sync("GET", "/items/{id}", [](const Request& req) {
    return envelope_ok(boost::json::object{{"id", req.param("id")}, {"q", req.query.get_or("q")}});
  });
  r.add_sync("POST", "/json", [](const Request& req) {
    auto j = req.json();
    if (!j) return envelope(code::bad_parameter, "body is not JSON");
    return envelope_ok(*j);
  });
  r.add_sync("POST", "/form", [](const Request& req) {
    auto f = req.form();
    if (!f) return envelope(code::bad_parameter, "body is not a form");
    return envelope_ok(boost::json::string(f->get_or("name")));
  });
  r.add_blocking("GET", "/blocking", [](const Request&) {
    // Runs on the worker pool: a blocking call here must not hold an io thread.
    return Response::text(200, "worker");
  });
  r.add("GET", "/forgets", [](ExchangePtr) {});
  r.add("GET", "/throws", [](ExchangePtr) -> void { throw std::runtime_error("boom"); });
  return r;
}

TEST(HttpServer, RoutesWithPathParamsAndQuery) {
  TestServer s(basic_router());
  ASSERT_EQ(s.start_error(), "");
  auto res =
      raw_http(s.port(), "GET /items/a%20b?q=x+y HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(status_of(res), 200) << res;
  EXPECT_NE(res.find("Content-Type: application/json"), std::string::npos);
  auto j = json_of(res);
  EXPECT_EQ(j.at("code"), "0000");
  EXPECT_EQ(j.at("data").at("id"), "a b");
  EXPECT_EQ(j.at("data").at("q"), "x y");
}

TEST(HttpServer, UnknownPathIs404EnvelopeAndOpenAiErrorUnderV1) {
  TestServer s(basic_router());
  auto res = raw_http(s.port(), "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(res), 404);
  EXPECT_EQ(json_of(res).at("code"), "0004");
  auto v1 = raw_http(s.port(), "GET /v1/nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(v1), 404);
  EXPECT_TRUE(json_of(v1).at("error").as_object().contains("message")) << v1;
  auto wrong = raw_http(s.port(), "DELETE /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(wrong), 405);
  EXPECT_NE(wrong.find("Allow: GET"), std::string::npos);
}

TEST(HttpServer, InvalidJsonAndFormBodies) {
  TestServer s(basic_router());
  auto bad = raw_http(
      s.port(),
      "POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{\"a\":");
  EXPECT_EQ(status_of(bad), 200);
  EXPECT_EQ(json_of(bad).at("code"), "0002");
  auto good = raw_http(
      s.port(),
      "POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}");
  EXPECT_EQ(json_of(good).at("data").at("a"), 1);
  auto form = raw_http(s.port(),
                       "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\nConnection: "
                       "close\r\n\r\nname=%E4%BD%A0+a%2Bb");
  EXPECT_EQ(json_of(form).at("data"), "\xE4\xBD\xA0 a+b");
}

TEST(HttpServer, MalformedRequestsGet400AndTheServerKeepsServing) {
  TestServer s(basic_router());
  SocketClient idle(s.port());  // a connection in the middle of nothing must not be affected
  auto line = raw_http(s.port(), "HELLO THERE\r\n\r\n");
  EXPECT_EQ(status_of(line), 400) << line;
  auto header = raw_http(s.port(), "GET /ping HTTP/1.1\r\nHost t\r\n\r\n");
  EXPECT_EQ(status_of(header), 400) << header;
  auto version = raw_http(s.port(), "GET /ping HTTP/9.9\r\n\r\n");
  EXPECT_EQ(status_of(version), 400) << version;
  auto ok = raw_http(s.port(), "GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(ok), 200);
  EXPECT_EQ(body_of(ok), "pong");
  EXPECT_NE(s.registry().render().find(
                "chatglmd_http_requests_total{route=\"invalid\",status=\"400\"} 3"),
            std::string::npos);
}

TEST(HttpServer, OversizedHeaderIs431) {
  TestServer s(basic_router());
  auto res = raw_http(
      s.port(), "GET /ping HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
  EXPECT_EQ(status_of(res), 431) << res.substr(0, 200);
}

TEST(HttpServer, TenMegabyteBodyIs413) {
  TestServer s(basic_router());
  std::string body(10 * 1024 * 1024, 'x');
  auto res = raw_http(s.port(), "POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                    std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(status_of(res), 413) << res.substr(0, 200);
  EXPECT_EQ(json_of(res).at("code"), "0002");
}

TEST(HttpServer, OversizedBodyIsRefusedBeforeItIsSent) {
  TestServer s(basic_router());
  // Only the head is sent: the answer must come from Content-Length alone.
  SocketClient c(s.port());
  ASSERT_TRUE(c.send("POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 10485760\r\n\r\n"));
  auto res = c.read_until("\r\n\r\n");
  EXPECT_EQ(status_of(res), 413) << res;
}

TEST(HttpServer, KeepAliveAndPipelinedRequestsAreAnsweredInOrder) {
  TestServer s(basic_router());
  auto res = raw_http(s.port(),
                      "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"
                      "GET /items/7 HTTP/1.1\r\nHost: t\r\n\r\n"
                      "GET /blocking HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto first = res.find("pong");
  auto second = res.find("\"id\":\"7\"");
  auto third = res.find("worker");
  ASSERT_NE(first, std::string::npos) << res;
  ASSERT_NE(second, std::string::npos) << res;
  ASSERT_NE(third, std::string::npos) << res;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST(HttpServer, HandlerThatNeverAnswersOrThrowsStillGetsAClearAnswer) {
  TestServer s(basic_router());
  auto forgot = raw_http(s.port(), "GET /forgets HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(json_of(forgot).at("code"), "0001");
  auto threw = raw_http(s.port(), "GET /throws HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(json_of(threw).at("code"), "0001");
}

// Store calls on the worker pool throw on a full disk or a lock held too long, and anything a
// handler posts to the loop can throw too. asio::thread_pool and the io threads end the process
// on an escaped exception: one failing request would take every stream in flight with it.
TEST(HttpServer, WorkThatThrowsLaterCostsOneRequestNotTheProcess) {
  Router r = basic_router();
  r.add_blocking("GET", "/blocking-throws",
                 [](const Request&) -> Response { throw std::runtime_error("disk full"); });
  r.add("GET", "/v1/post-throws",
        [](ExchangePtr ex) { ex->post([]() -> void { throw std::runtime_error("boom later"); }); });
  TestServer s(std::move(r));
  auto blocking =
      raw_http(s.port(), "GET /blocking-throws HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(json_of(blocking).at("code"), "0001") << blocking;
  auto posted =
      raw_http(s.port(), "GET /v1/post-throws HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(posted), 500) << posted;
  EXPECT_TRUE(json_of(posted).at("error").is_object()) << posted;
  auto ok = raw_http(s.port(), "GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(body_of(ok), "pong");
}

// A handler bug that makes Beast throw while the answer is written (a 204 with a body, a status
// past 999) ends that connection; it must still leave the server's connection registry, or the
// count only grows until max_connections refuses everyone and drain waits for ghosts.
TEST(HttpServer, ConnectionEndedByAnExceptionIsStillForgotten) {
  Router r = basic_router();
  r.add_sync("GET", "/no-content-with-body",
             [](const Request&) { return Response::text(204, "not allowed here"); });
  r.add_sync("GET", "/bad-status", [](const Request&) { return Response::text(1000, "x"); });
  TestServer s(std::move(r));
  for (std::string path : {"/no-content-with-body", "/bad-status"}) {
    SocketClient c(s.port());
    ASSERT_TRUE(c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.read_all(5000);
    EXPECT_TRUE(c.closed()) << path;
    EXPECT_TRUE(
        chatglmd::testing::eventually([&] { return s.server().open_connections() == 0; }, 5s))
        << path << ": " << s.server().open_connections() << " connections still registered";
  }
  auto ok = raw_http(s.port(), "GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(body_of(ok), "pong");
}

TEST(HttpServer, MetricsCountRequestsByRouteAndStatus) {
  TestServer s(basic_router());
  raw_http(s.port(), "GET /items/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  raw_http(s.port(), "GET /items/2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  raw_http(s.port(), "GET /zzz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto text = s.registry().render();
  EXPECT_NE(text.find("chatglmd_http_requests_total{route=\"/items/{id}\",status=\"200\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("chatglmd_http_requests_total{route=\"not_found\",status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("chatglmd_http_request_duration_seconds_count{route=\"/items/{id}\"} 2"),
            std::string::npos);
}

TEST(HttpServer, CorsPreflightAndOriginEcho) {
  ServerConfig cfg;
  cfg.cors_origins = {"https://chat.example.com"};
  TestServer s(basic_router(), cfg);
  auto pre = raw_http(
      s.port(),
      "OPTIONS /json HTTP/1.1\r\nHost: t\r\nOrigin: https://chat.example.com\r\n"
      "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization\r\n"
      "Connection: close\r\n\r\n");
  EXPECT_EQ(status_of(pre), 204) << pre;
  EXPECT_NE(pre.find("Access-Control-Allow-Origin: https://chat.example.com"), std::string::npos);
  EXPECT_NE(pre.find("Access-Control-Allow-Methods: GET, POST, OPTIONS"), std::string::npos);
  EXPECT_NE(pre.find("Access-Control-Allow-Headers: authorization"), std::string::npos);
  auto foreign = raw_http(s.port(),
                          "OPTIONS /json HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\n"
                          "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(foreign), 403);
  EXPECT_EQ(foreign.find("Access-Control-Allow-Origin"), std::string::npos);
  auto get = raw_http(s.port(),
                      "GET /ping HTTP/1.1\r\nHost: t\r\nOrigin: "
                      "https://chat.example.com\r\nConnection: close\r\n\r\n");
  EXPECT_NE(get.find("Access-Control-Allow-Origin: https://chat.example.com"), std::string::npos);
  auto get_foreign = raw_http(
      s.port(),
      "GET /ping HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(get_foreign.find("Access-Control-Allow-Origin"), std::string::npos);
}

TEST(HttpServer, CorsWildcardAllowsAnyOrigin) {
  ServerConfig cfg;
  cfg.cors_origins = {"*"};
  TestServer s(basic_router(), cfg);
  auto get = raw_http(
      s.port(), "GET /ping HTTP/1.1\r\nHost: t\r\nOrigin: http://a.b\r\nConnection: close\r\n\r\n");
  EXPECT_NE(get.find("Access-Control-Allow-Origin: http://a.b"), std::string::npos) << get;
}

// --- many connections ---

void raise_fd_limit(rlim_t want) {
  rlimit l{};
  ::getrlimit(RLIMIT_NOFILE, &l);
  if (l.rlim_cur < want) {
    l.rlim_cur = std::min(want, l.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &l);
  }
}

TEST(HttpServer, ThousandIdleConnectionsDoNotStopOthersAndAreClosedByTheIdleTimeout) {
  raise_fd_limit(4096);
  ServerConfig cfg;
  cfg.idle_timeout = 300ms;
  TestServer s(basic_router(), cfg);
  std::vector<std::unique_ptr<SocketClient>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<SocketClient>(s.port()));
    ASSERT_TRUE(idle.back()->ok()) << i;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto res = raw_http(s.port(), "GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(body_of(res), "pong");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  // Every idle connection is closed by the server (EOF), within a bound set by the idle timeout.
  int closed = 0;
  for (auto& c : idle) {
    c->read_all(5000);
    closed += c->closed() ? 1 : 0;
  }
  EXPECT_EQ(closed, 1000);
  EXPECT_TRUE(
      chatglmd::testing::eventually([&] { return s.server().open_connections() == 0; }, 5s));
}

TEST(HttpServer, ConnectionsOverTheLimitGet503) {
  ServerConfig cfg;
  cfg.max_connections = 2;
  TestServer s(basic_router(), cfg);
  SocketClient a(s.port()), b(s.port());
  ASSERT_TRUE(
      chatglmd::testing::eventually([&] { return s.server().open_connections() == 2; }, 5s));
  auto res = raw_http(s.port(), "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(res), 503) << res;
  a.close();
  ASSERT_TRUE(
      chatglmd::testing::eventually([&] { return s.server().open_connections() == 1; }, 5s));
  auto ok = raw_http(s.port(), "GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(body_of(ok), "pong");
}

// --- streaming ---

// Hands the exchange of each request to the test, which then plays the upstream.
struct StreamProbe {
  std::promise<ExchangePtr> exchange;
  std::promise<void> cancelled;
  std::atomic<int> cancels{0};
};

Router stream_router(std::shared_ptr<StreamProbe> probe, bool start_at_once) {
  Router r = basic_router();
  r.add("POST", "/stream", [probe, start_at_once](ExchangePtr ex) {
    ex->on_cancel([probe] {
      if (probe->cancels++ == 0) probe->cancelled.set_value();
    });
    if (start_at_once) ex->start_stream(200, "text/event-stream; charset=utf-8");
    probe->exchange.set_value(ex);
  });
  return r;
}

constexpr const char* kStreamRequest =
    "POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}";

TEST(HttpServer, StreamingAnswerArrivesInPieces) {
  auto probe = std::make_shared<StreamProbe>();
  TestServer s(stream_router(probe, true));
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  std::string all = c.read_until("\r\n\r\n");
  EXPECT_NE(all.find("Transfer-Encoding: chunked"), std::string::npos) << all;
  EXPECT_NE(all.find("Content-Type: text/event-stream"), std::string::npos);
  int reads_with_data = 0;
  for (std::string piece : {"first ", "second ", "third"}) {
    // Produced from another thread, as the upstream client's callbacks are.
    std::thread([&] { EXPECT_TRUE(ex->write(piece)); }).join();
    std::string got = c.read_until(piece);
    ASSERT_NE(got.find(piece), std::string::npos) << "piece " << piece << " did not arrive alone";
    ++reads_with_data;
    all += got;
  }
  ex->finish();
  all += c.read_all();
  EXPECT_TRUE(c.closed());
  EXPECT_GE(reads_with_data, 3);
  EXPECT_EQ(dechunk(body_of(all)), "first second third");
  EXPECT_EQ(probe->cancels, 0);
}

TEST(HttpServer, ClientDisconnectMidStreamCancels) {
  auto probe = std::make_shared<StreamProbe>();
  TestServer s(stream_router(probe, true));
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  ex->write("partial");
  c.read_until("partial");
  c.reset();
  ASSERT_EQ(probe->cancelled.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(ex->cancelled());
  EXPECT_FALSE(ex->write("more"));  // the producer learns to stop
  EXPECT_TRUE(
      chatglmd::testing::eventually([&] { return s.server().open_connections() == 0; }, 5s));
}

TEST(HttpServer, ClientDisconnectBeforeTheFirstByteCancels) {
  auto probe = std::make_shared<StreamProbe>();
  TestServer s(stream_router(probe, false));
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  c.close();  // an orderly close while the handler is still waiting for its upstream
  ASSERT_EQ(probe->cancelled.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(probe->cancels, 1);
}

TEST(HttpServer, SlowReaderOverTheQueueBoundIsCancelled) {
  auto probe = std::make_shared<StreamProbe>();
  ServerConfig cfg;
  cfg.stream_queue_limit = 1024;
  TestServer s(stream_router(probe, true), cfg);
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  // Without reading, the socket buffers fill and the queue passes its bound.
  bool accepted = true;
  for (int i = 0; i < 100000 && accepted; ++i) accepted = ex->write(std::string(4096, 'x'));
  EXPECT_FALSE(accepted);
  ASSERT_EQ(probe->cancelled.get_future().wait_for(5s), std::future_status::ready);
}

// Runs fn on the exchange's own loop (where an upstream piece is relayed) and waits for it.
void on_loop(const ExchangePtr& ex, std::function<void()> fn) {
  std::promise<void> done;
  ex->post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

// A piece made on the connection's loop goes straight to the socket while the stream is idle;
// when the client does not read, a send stops part-way and the rest must still go out first, in
// order, before the pieces queued meanwhile.
TEST(HttpServer, PiecesMadeOnTheLoopArriveWholeAndInOrderPastAFullSocket) {
  auto probe = std::make_shared<StreamProbe>();
  ServerConfig cfg;
  cfg.stream_queue_limit = 64 << 20;
  TestServer s(stream_router(probe, true), cfg);
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  std::string all = c.read_until("\r\n\r\n");
  std::string expected;
  // 16 MB, more than loopback's socket buffers hold, written while the client reads nothing.
  for (int batch = 0; batch < 320; ++batch) {
    std::vector<std::string> pieces;
    for (int i = 0; i < 50; ++i) {
      std::string piece = "<" + std::to_string(batch) + ":" + std::to_string(i) + ">";
      piece.resize(997 + (i % 7), static_cast<char>('a' + (batch + i) % 26));
      expected += piece;
      pieces.push_back(std::move(piece));
    }
    on_loop(ex, [&] {
      for (auto& piece : pieces) ASSERT_TRUE(ex->write(piece));
    });
  }
  on_loop(ex, [&] { ex->finish(); });
  all += c.read_all(10000);
  EXPECT_TRUE(c.closed());
  const std::string body = dechunk(body_of(all));
  EXPECT_EQ(body.size(), expected.size());
  EXPECT_TRUE(body == expected) << "the relayed bytes differ from what was written";
  EXPECT_EQ(probe->cancels, 0);
}

// A piece over the queue's bound that finds nothing waiting goes out whole (one upstream event
// may be as large as the bound before its framing: refusing it would end an answer the client
// has not had a byte of). Behind a backlog the bound holds (SlowReaderOverTheQueueBound...).
TEST(HttpServer, APieceOverTheQueueBoundGoesOutWhenNothingWaits) {
  auto probe = std::make_shared<StreamProbe>();
  ServerConfig cfg;
  cfg.stream_queue_limit = 1024;
  TestServer s(stream_router(probe, true), cfg);
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  c.read_until("\r\n\r\n");
  on_loop(ex, [&] { EXPECT_TRUE(ex->write("small")); });
  c.read_until("small");  // the stream is idle again
  bool accepted = false;
  on_loop(ex, [&] { accepted = ex->write(std::string(4096, 'x') + "END"); });
  EXPECT_TRUE(accepted);
  on_loop(ex, [&] { ex->finish(); });
  const std::string rest = c.read_all(10000);
  EXPECT_NE(rest.find(std::string(4096, 'x') + "END"), std::string::npos);
  EXPECT_EQ(probe->cancels, 0);
}

// Pieces from another thread are queued for the stream's coroutine; one made on the loop while
// such a piece still waits must not overtake it.
TEST(HttpServer, PiecesFromTheLoopAndFromOtherThreadsKeepTheirOrder) {
  auto probe = std::make_shared<StreamProbe>();
  TestServer s(stream_router(probe, true));
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  std::string all = c.read_until("\r\n\r\n");
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    std::string piece = "[" + std::to_string(i) + "]";
    expected += piece;
    if (i % 2 == 0) {
      std::thread([&] { EXPECT_TRUE(ex->write(piece)); }).join();
    } else {
      on_loop(ex, [&] { EXPECT_TRUE(ex->write(piece)); });
    }
  }
  ex->finish();
  all += c.read_all();
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(dechunk(body_of(all)), expected);
}

// A client that resets while pieces are sent straight from the loop: the producer is told to
// stop and the stream is cancelled once.
TEST(HttpServer, ResetClientCancelsAStreamFedFromTheLoop) {
  auto probe = std::make_shared<StreamProbe>();
  TestServer s(stream_router(probe, true));
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  c.read_until("\r\n\r\n");
  on_loop(ex, [&] { EXPECT_TRUE(ex->write("first")); });
  c.read_until("first");
  c.reset();
  bool accepted = true;
  for (int i = 0; i < 100000 && accepted; ++i) on_loop(ex, [&] { accepted = ex->write("more"); });
  EXPECT_FALSE(accepted);
  ASSERT_EQ(probe->cancelled.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(probe->cancels, 1);
  EXPECT_TRUE(
      chatglmd::testing::eventually([&] { return s.server().open_connections() == 0; }, 5s));
}

TEST(HttpServer, GracefulDrainLetsTheStreamFinishAndRefusesNewConnections) {
  auto probe = std::make_shared<StreamProbe>();
  TestServer s(stream_router(probe, true));
  SocketClient idle(s.port());  // keep-alive connection with no request: closed at once
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  ex->write("before ");
  c.read_until("before ");
  std::thread drainer([&] { s.server().drain(10s); });
  idle.read_all(5000);
  EXPECT_TRUE(idle.closed());
  EXPECT_TRUE(
      chatglmd::testing::eventually([&] { return !chatglmd::testing::port_open(s.port()); }, 5s));
  ex->write("after");
  ex->finish();
  std::string rest = c.read_all();
  drainer.join();
  EXPECT_NE(rest.find("after"), std::string::npos);
  EXPECT_NE(rest.find("0\r\n\r\n"), std::string::npos);  // the stream ended properly
  EXPECT_EQ(probe->cancels, 0);
}

TEST(HttpServer, DrainBoundCancelsWhatIsLeft) {
  auto probe = std::make_shared<StreamProbe>();
  TestServer s(stream_router(probe, true));
  SocketClient c(s.port());
  ASSERT_TRUE(c.send(kStreamRequest));
  auto ex = probe->exchange.get_future().get();
  s.server().drain(100ms);
  EXPECT_EQ(probe->cancelled.get_future().wait_for(0s), std::future_status::ready);
  EXPECT_EQ(s.server().open_connections(), 0u);
  c.read_all();
  EXPECT_TRUE(c.closed());
}

}  // namespace
}  // namespace chatglmd::http
