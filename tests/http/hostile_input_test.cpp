// The HTTP front against hostile bytes: framing that could smuggle a second request past a proxy,
// framing that never ends, header values echoed back, bodies that are not JSON, and a seeded storm
// of mutated requests over real sockets.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http/response.hpp"
#include "socket_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "test_server.hpp"

namespace chatglmd::http {
namespace {

using chatglmd::testing::raw_http;
using testing::SocketClient;
using testing::status_of;
using testing::TestServer;
using namespace std::chrono_literals;

Router hostile_router() {
  Router r;
  r.add_sync("GET", "/ping", [](const Request&) { return Response::text(200, "pong"); });
  r.add_sync("POST", "/json", [](const Request& req) {
    auto j = req.json();
    if (!j) return envelope(code::bad_parameter, "body is not JSON");
    return envelope_ok(*j);
  });
  r.add_blocking("POST", "/blocking",
                 [](const Request& req) { return Response::text(200, req.body); });
  // Answered later from the io loop, as the chat paths answer after their upstream.
  r.add("GET", "/later",
        [](ExchangePtr ex) { ex->post([ex] { ex->respond(Response::text(200, "later")); }); });
  return r;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// Sends `head` and then `filler` piece after piece without ever ending the line it is in; true
// when the server answered before `max_bytes` of filler went out.
bool answered_before(SocketClient& c, const std::string& head, std::size_t max_bytes,
                     std::string& answer) {
  if (!c.send(head)) return true;
  const std::string piece(64 * 1024, 'a');
  for (std::size_t sent = 0; sent < max_bytes; sent += piece.size()) {
    answer += c.read_some(0);
    if (!answer.empty() || c.closed()) return true;
    if (!c.send(piece)) break;  // closed on us: whatever it said is readable now
  }
  answer += c.read_until("\r\n\r\n", 2000);
  return !answer.empty() && max_bytes > 0 && status_of(answer) != 0 &&
         answer.size() < max_bytes;  // an answer that needed all the filler does not count
}

// RFC 9112 6.3: a Transfer-Encoding whose last coding is not chunked leaves the body length
// unknown and MUST be answered 400 and closed. Taking such a body as empty (or falling back to a
// Content-Length) lets a proxy that frames it differently slip a second request through.
TEST(HttpHostileInput, TransferEncodingThatDoesNotEndInChunkedIsRefused) {
  TestServer s(hostile_router());
  ASSERT_EQ(s.start_error(), "");
  const std::string smuggled = "GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  for (std::string te : {"gzip", "xchunked", "chunked, gzip", "identity", "chunked;q=1"}) {
    auto res = raw_http(s.port(), "POST /json HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + te +
                                      "\r\n\r\n" + smuggled);
    EXPECT_EQ(status_of(res), 400) << te << "\n" << res;
    EXPECT_EQ(res.find("pong"), std::string::npos) << te << ": the body became a request\n" << res;
    EXPECT_EQ(count_of(res, "HTTP/1.1 "), 1u) << te << "\n" << res;
  }
  // Transfer-Encoding first, then a length: the length must not be the fallback.
  auto res = raw_http(s.port(),
                      "POST /json HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n"
                      "Content-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}");
  EXPECT_EQ(status_of(res), 400) << res;
  // A plain chunked body still works, and so does the connection's next request.
  auto ok = raw_http(s.port(),
                     "POST /json HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "7\r\n{\"a\":1}\r\n0\r\n\r\n" +
                         smuggled);
  EXPECT_EQ(status_of(ok), 200) << ok;
  EXPECT_NE(ok.find("\"a\":1"), std::string::npos) << ok;
  EXPECT_NE(ok.find("pong"), std::string::npos) << ok;
}

// Checked: Beast refuses these itself; kept so that a change of parser cannot bring them back.
TEST(HttpHostileInput, ConflictingOrBrokenFramingIsRefusedAndNothingAfterItIsServed) {
  TestServer s(hostile_router());
  const std::string smuggled = "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n";
  struct Case {
    std::string name;
    std::string head_and_body;
    int status;
  };
  const std::vector<Case> cases = {
      {"length then chunked", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"chunked then length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
       400},
      {"two lengths", "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
      {"length list that differs", "Content-Length: 2, 3\r\n\r\n{}", 400},
      {"negative length", "Content-Length: -1\r\n\r\n", 400},
      {"signed length", "Content-Length: +2\r\n\r\n{}", 400},
      {"hex length", "Content-Length: 0x2\r\n\r\n{}", 400},
      {"length past 64 bits", "Content-Length: 18446744073709551617\r\n\r\n{}", 400},
      {"chunked twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"chunk size past 64 bits",
       "Transfer-Encoding: chunked\r\n\r\n10000000000000000000\r\nx\r\n0\r\n\r\n", 400},
      {"chunk size not hex", "Transfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n", 400},
      {"chunk larger than the body limit", "Transfer-Encoding: chunked\r\n\r\nfffffffffff\r\nxxxx",
       413},
      {"NUL in a header value", std::string("X-A: a\0b\r\n\r\n", 13), 400},
      {"bare CR in a header value", "X-A: a\rb\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    auto res =
        raw_http(s.port(), "POST /json HTTP/1.1\r\nHost: t\r\n" + c.head_and_body + smuggled);
    EXPECT_EQ(status_of(res), c.status) << c.name << "\n" << res;
    EXPECT_EQ(res.find("pong"), std::string::npos) << c.name << "\n" << res;
  }
  // The same length twice is one length (RFC 9112 6.3): served, and the next request too.
  auto same = raw_http(s.port(),
                       "POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: "
                       "2\r\n\r\n{}GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(same), 200) << same;
  EXPECT_NE(same.find("pong"), std::string::npos) << same;
}

// The chunk-size line and the trailer are outside the header limit in Beast's parser; without a
// bound on the read buffer a client could fill memory with one endless line until the read
// timeout (here long on purpose) ends it.
TEST(HttpHostileInput, ChunkLineOrTrailerThatNeverEndsIsRefusedEarly) {
  ServerConfig cfg;
  cfg.read_timeout = 60s;
  TestServer s(hostile_router(), cfg);
  const std::string head = "POST /json HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::string start : {"1;ext=", "0\r\nX-Trailer: "}) {
    SocketClient c(s.port());
    ASSERT_TRUE(c.ok());
    std::string answer;
    EXPECT_TRUE(answered_before(c, head + start, 16u << 20, answer))
        << "no answer while the line grew: " << start;
    const int status = status_of(answer);
    EXPECT_TRUE(status == 400 || status == 431) << answer.substr(0, 200);
  }
  // A legal chunked body far larger than the read buffer still arrives whole.
  std::string chunked = head;
  std::string expected;
  for (char fill : {'x', 'y', 'z'}) {
    const std::string piece(300'000, fill);
    chunked += "493e0;name=value\r\n" + piece + "\r\n";
    expected += piece;
  }
  chunked.replace(chunked.find("/json"), 5, "/blocking");
  auto big = raw_http(s.port(), chunked + "0\r\nX-Trailer: done\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(big), 200) << big.substr(0, 200);
  EXPECT_EQ(testing::body_of(big), expected);
}

// Checked: header values reach handlers and the CORS echo only after Beast parsed them, and Beast
// refuses CR, LF and NUL inside a value and joins obsolete line folding with a space.
TEST(HttpHostileInput, EchoedHeaderValuesCannotStartANewResponseHeader) {
  ServerConfig cfg;
  cfg.cors_origins = {"*"};
  TestServer s(hostile_router(), cfg);
  const std::vector<std::string> origins = {
      "http://a.b\r\n Set-Cookie: stolen=1",  // obsolete folding
      "http://a.b\r\n\tSet-Cookie: stolen=1",
      "http://a.b\rSet-Cookie: stolen=1",
      "http://a.b\nSet-Cookie: stolen=1",
  };
  for (const auto& origin : origins) {
    for (std::string request :
         {"GET /ping HTTP/1.1\r\nHost: t\r\nOrigin: " + origin + "\r\nConnection: close\r\n\r\n",
          "OPTIONS /json HTTP/1.1\r\nHost: t\r\nOrigin: http://a.b\r\n"
          "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: " +
              origin + "\r\nConnection: close\r\n\r\n"}) {
      auto res = raw_http(s.port(), request);
      auto head = res.substr(0, res.find("\r\n\r\n"));
      EXPECT_EQ(head.find("\r\nSet-Cookie"), std::string::npos) << head;
      EXPECT_EQ(head.find("\nSet-Cookie"), std::string::npos) << head;
      EXPECT_NE(status_of(res), 0) << res;
    }
  }
}

// Checked: Boost.JSON refuses nesting past 32 levels (no deep recursion) and invalid UTF-8.
TEST(HttpHostileInput, BodiesTooDeepOrNotUtf8AreErrorsNotCrashes) {
  Request r;
  r.body = std::string(200'000, '[') + std::string(200'000, ']');
  EXPECT_FALSE(r.json());
  r.body = std::string(200'000, '{');
  EXPECT_FALSE(r.json());
  for (std::string bad : {"\"\xFF\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"\xE4\xBD\"",
                          "{\"a\xF5\x80\x80\x80\":1}"}) {
    r.body = bad;
    EXPECT_FALSE(r.json()) << bad;
  }
  r.body = "{\"a\":\"\xE4\xBD\xA0\"}";
  EXPECT_TRUE(r.json());
}

// A producer on its own thread (as the upstream client's callbacks are) writes, finishes, finishes
// twice or drops its exchange at seeded moments, while the client resets, closes or reads to the
// end at seeded moments: every exchange ends, its on_cancel runs at most once, and no connection
// stays registered. Under the sanitizer build this is the use-after-free and data-race probe.
TEST(HttpHostileInput, SeededRacesBetweenProducerAndClientLeaveNothingBehind) {
  struct Shared {
    std::mutex mutex;
    std::vector<std::thread> producers;
    std::atomic<int> exchanges{0};
    std::atomic<int> double_cancels{0};
  };
  auto shared = std::make_shared<Shared>();
  // Joins what is left even when an assertion ends the test early, after the server (declared
  // later, destroyed first) has closed every connection.
  struct JoinLeft {
    Shared& shared;
    ~JoinLeft() {
      std::lock_guard lock(shared.mutex);
      for (auto& t : shared.producers) t.join();
    }
  } join_left{*shared};
  Router r;
  r.add("POST", "/stream", [shared](ExchangePtr ex) {
    ++shared->exchanges;
    auto cancels = std::make_shared<std::atomic<int>>(0);
    ex->on_cancel([shared, cancels] {
      if (++*cancels > 1) ++shared->double_cancels;
    });
    const auto seed = static_cast<unsigned>(std::stoul(ex->request().body));
    std::lock_guard lock(shared->mutex);
    shared->producers.emplace_back([ex = std::move(ex), seed]() mutable {
      std::mt19937 rng(seed);
      if (rng() % 8 == 0) {
        ex->respond(Response::text(200, "whole"));
        return;
      }
      ex->start_stream(200, "text/event-stream");
      for (int i = 0, n = static_cast<int>(rng() % 40); i < n; ++i) {
        if (!ex->write("data: " + std::string(rng() % 2000, 'x') + "\n\n")) break;
        if (rng() % 4 == 0) std::this_thread::yield();
      }
      switch (rng() % 4) {
        case 0:
          ex->finish();
          ex->finish();
          ex->write("late");
          break;
        case 1:
          ex.reset();  // dropped without finish: the client must see the stream cut
          break;
        default:
          ex->finish();
          break;
      }
    });
  });
  ServerConfig cfg;
  cfg.stream_queue_limit = 16 * 1024;  // slow readers overflow now and then
  TestServer s(std::move(r), cfg);
  std::mt19937 rng(31337);
  constexpr int kRounds = 300;
  for (int round = 0; round < kRounds; ++round) {
    SocketClient c(s.port());
    ASSERT_TRUE(c.ok());
    const std::string body = std::to_string(rng());
    c.send("POST /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body);
    switch (rng() % 4) {
      case 0:
        c.reset();
        break;
      case 1:
        c.read_some(1);
        c.reset();
        break;
      case 2:
        c.close();
        break;
      default:
        c.read_all(5000);
        EXPECT_TRUE(c.closed()) << "round " << round;
        break;
    }
  }
  // Connections are accepted in order: once this one is answered every earlier one is registered,
  // and once none is left no handler can start, so every producer can be joined.
  EXPECT_EQ(
      status_of(raw_http(s.port(), "GET /none HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")),
      404);
  EXPECT_TRUE(
      chatglmd::testing::eventually([&] { return s.server().open_connections() == 0; }, 10s))
      << s.server().open_connections() << " connections left";
  {
    std::lock_guard lock(shared->mutex);
    for (auto& t : shared->producers) t.join();
    shared->producers.clear();
  }
  EXPECT_EQ(shared->double_cancels.load(), 0);
  // A request reset before the server read it never reaches the handler; most must.
  EXPECT_GT(shared->exchanges.load(), kRounds / 2);
}

// --- a seeded storm of mutated requests ---

// Requests that exercise every framing path, each answered normally when sent as they are.
const std::vector<std::string> kSeeds = {
    "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n",
    "GET /later HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n",
    "POST /json HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: "
    "13\r\n\r\n{\"a\":[1,2,3]}",
    "POST /json HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n"
    "3\r\n:1}\r\n0\r\nX-T: 1\r\n\r\n",
    "POST /blocking HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "OPTIONS /json HTTP/1.1\r\nHost: t\r\nOrigin: http://x.y\r\nAccess-Control-Request-Method: "
    "POST\r\n\r\n",
    "GET /ping HTTP/1.0\r\n\r\n",
    "GET /ping HTTP/1.1\r\nHost: t\r\n\r\nGET /later HTTP/1.1\r\nHost: t\r\n\r\n",
};

// Pieces that a mutation splices in: framing words, line ends, bytes that are not text.
const std::vector<std::string> kSplices = {
    "\r\n",
    "\n",
    "\r",
    std::string(1, '\0'),
    " ",
    "\t",
    ":",
    "\r\n ",
    "Transfer-Encoding: chunked\r\n",
    "Transfer-Encoding: gzip\r\n",
    "Content-Length: 5\r\n",
    "Content-Length: 99999999\r\n",
    "Content-Length: 18446744073709551616\r\n",
    "Expect: 100-continue\r\n",
    "Connection: close\r\n",
    "ffffffffffffffffff\r\n",
    "0\r\n\r\n",
    "%2e%2e/",
    "%00",
    "\x80\xFF\xC0",
    "GET /ping HTTP/1.1\r\n\r\n",
    std::string(2000, 'x'),
};

std::string mutate(std::string s, std::mt19937& rng) {
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:  // one byte becomes any byte
        if (!s.empty()) s[at % s.size()] = static_cast<char>(rng() % 256);
        break;
      case 1:
      case 2:
        s.insert(at, kSplices[rng() % kSplices.size()]);
        break;
      case 3:  // a range goes
        s.erase(at, rng() % 16);
        break;
      case 4:  // a range doubles
        s.insert(at, s.substr(at, rng() % 32));
        break;
      case 5:  // cut short
        s.resize(at);
        break;
    }
  }
  return s;
}

// Splits what came back into responses with Beast's own parser: every one must be well formed,
// with a status the front is meant to give. Returns "" or what is wrong.
std::string check_responses(const std::string& bytes) {
  static const std::set<unsigned> allowed = {100, 200, 204, 400, 403, 404, 405, 408, 413, 431, 501};
  namespace bhttp = boost::beast::http;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    boost::system::error_code ec;
    const std::size_t used =
        parser.put(boost::asio::buffer(bytes.data() + pos, bytes.size() - pos), ec);
    if (ec || !parser.is_done()) return "unparsable answer at " + std::to_string(pos);
    if (!allowed.contains(parser.get().result_int()))
      return "status " + std::to_string(parser.get().result_int());
    pos += used;
  }
  return "";
}

TEST(HttpHostileInput, SeededStormOfMutatedRequestsNeverBreaksTheServer) {
  ServerConfig cfg;
  cfg.header_limit = 1024;  // small limits so that mutations cross them often
  cfg.max_body = 4096;
  cfg.read_timeout = 500ms;
  cfg.idle_timeout = 500ms;
  cfg.linger = 50ms;
  cfg.cors_origins = {"*"};
  TestServer s(hostile_router(), cfg);
  std::mt19937 rng(20240611);
  constexpr int kRounds = 1500;
  for (int round = 0; round < kRounds; ++round) {
    const std::string request = mutate(kSeeds[rng() % kSeeds.size()], rng);
    SocketClient c(s.port());
    ASSERT_TRUE(c.ok()) << "round " << round;
    c.send(request);  // may fail when the server already refused and closed
    c.shutdown_send();
    const std::string answer = c.read_all(5000);
    ASSERT_TRUE(c.closed()) << "round " << round << ": connection left open after the end";
    const std::string problem = check_responses(answer);
    ASSERT_EQ(problem, "") << "round " << round << "\nsent: " << ::testing::PrintToString(request)
                           << "\ngot: " << ::testing::PrintToString(answer);
  }
  auto ok = raw_http(s.port(), "GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(ok), 200);
  EXPECT_TRUE(chatglmd::testing::eventually([&] { return s.server().open_connections() == 0; }, 5s))
      << s.server().open_connections() << " connections leaked";
}

}  // namespace
}  // namespace chatglmd::http
