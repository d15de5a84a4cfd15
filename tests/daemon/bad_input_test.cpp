// Bad input at the daemon's front door: what is not HTTP, broken headers, bodies far over the
// limit, JSON that is not a chat, an idle crowd of connections. Each gets its status, costs
// nothing, and the daemon keeps serving everyone else.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/json.hpp>
#include <memory>

#include "daemon/daemon_client.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;

struct BadInput : ::testing::Test {
  static void SetUpTestSuite() {
    // A thousand idle sockets on each side: lift a 1024 soft limit (the daemon inherits it).
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 4096 &&
        files.rlim_cur < files.rlim_max) {
      files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4096);
      setrlimit(RLIMIT_NOFILE, &files);
    }
    daemon = new DaemonHarness();
    run_ok(*daemon, {"user", "add", "careful", "--quota", "5"});
    token = daemon->token_for("careful");
  }
  static void TearDownTestSuite() {
    delete daemon;
    daemon = nullptr;
  }
  void TearDown() override {
    // Whatever a case sent, the daemon is alive and others are served.
    ASSERT_TRUE(d.running()) << d.log();
    EXPECT_EQ(d.request("GET", "/healthz").status, 200);
    EXPECT_EQ(surplus_quota(d, "careful"), 5) << "bad input cost a chat";
  }
  // Sends `raw` on a fresh connection and reads the answer until the daemon closes.
  std::string exchange(const std::string& raw) {
    RawClient c(d.port());
    c.send(raw);
    c.read_to_eof(5s);
    return c.received();
  }
  static DaemonHarness* daemon;
  static std::string token;
  DaemonHarness& d = *daemon;
};
DaemonHarness* BadInput::daemon = nullptr;
std::string BadInput::token;

TEST_F(BadInput, WhatIsNotHttpGets400) {
  for (const std::string& raw : {std::string("GARBAGE\r\n\r\n"), std::string("GET\r\n\r\n"),
                                 std::string("GET / HTTP/7.3\r\nHost: x\r\n\r\n"),
                                 std::string("GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n"),
                                 std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)}) {
    SCOPED_TRACE(raw);
    std::string got = exchange(raw + "\r\n\r\n");
    EXPECT_EQ(status_of(got), 400) << got;
  }
}

TEST_F(BadInput, BrokenHeadersGet400Or431) {
  EXPECT_EQ(status_of(exchange("GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")), 400);
  EXPECT_EQ(status_of(exchange("GET /healthz HTTP/1.1\r\nHo st: x\r\n\r\n")), 400);
  EXPECT_EQ(status_of(exchange(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")),
            400);
  EXPECT_EQ(
      status_of(exchange("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                         "Content-Length: 7\r\n\r\nhello")),
      400);
  EXPECT_EQ(
      status_of(exchange(
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          "zz\r\nhello\r\n0\r\n\r\n")),
      400);
  std::string padding = "Host: x\r\nX-Padding: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_EQ(status_of(exchange("GET /healthz HTTP/1.1\r\n" + padding)), 431);
  auto openai = exchange("POST /v1/chat/completions HTTP/1.1\r\n" + padding);
  EXPECT_EQ(status_of(openai), 431);
  EXPECT_NE(openai.find("{\"error\":{"), std::string::npos) << openai;
}

TEST_F(BadInput, TenMegabyteBodyIsRefusedBeforeItIsRead) {
  const std::size_t ten_mb = 10 * 1024 * 1024;
  for (const std::string& path :
       {kOriginalChat, kOpenAiChat, std::string("/api/v1/sale/pay_notify")}) {
    SCOPED_TRACE(path);
    // Only the head goes out: the answer must not wait for 10 MB the daemon will not take.
    RawClient c(d.port());
    c.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(ten_mb) +
           "\r\n\r\n");
    ASSERT_TRUE(c.read_until(
        [](const std::string& got) { return got.find("\r\n\r\n") != std::string::npos; }, 3s));
    EXPECT_EQ(status_of(c.received()), 413) << c.received();
    // Each path speaks its own convention, even for a request it never read.
    c.read_to_eof(3s);
    if (path == kOpenAiChat)
      EXPECT_NE(c.received().find("{\"error\":{"), std::string::npos) << c.received();
    else
      EXPECT_NE(c.received().find("\"code\":\"0002\""), std::string::npos) << c.received();
  }

  // Without a length (chunked), the limit is hit while reading; the client's bytes are drained.
  RawClient c(d.port());
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
         "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
  for (std::size_t sent = 0; sent < ten_mb && c.send(chunk); sent += 0x10000) {
    if (c.read_until([](const std::string& got) { return !got.empty(); }, 0ms)) break;
  }
  c.read_until([](const std::string& got) { return got.find("\r\n\r\n") != std::string::npos; },
               3s);
  EXPECT_EQ(status_of(c.received()), 413) << c.received();
  EXPECT_NE(c.received().find("\"error\""), std::string::npos)
      << "the /v1 path answers an OpenAI error";
}

TEST_F(BadInput, JsonThatIsNoChatIsABadRequestOnBothPaths) {
  const std::vector<std::string> bodies = {
      "{not json",
      "",
      "[]",
      R"("just a string")",
      "{}",
      R"({"model":"glm-4"})",
      R"({"messages":[{"role":"user","content":"hi"}]})",
      R"({"model":"glm-4","messages":[]})",
      R"({"model":"glm-4","messages":"hi"})",
      R"({"model":"glm-4","messages":[{"role":"user"}]})",
      R"({"model":"glm-4","messages":[{"content":"hi"}]})",
      R"({"model":"glm-4","messages":[{"role":"user","content":42}]})",
      R"({"model":"glm-4","messages":["hi"]})",
      R"({"model":"","messages":[{"role":"user","content":"hi"}]})",
      R"({"model":7,"messages":[{"role":"user","content":"hi"}]})",
      R"({"model":"no-such-model","messages":[{"role":"user","content":"hi"}]})",
      std::string(R"({"model":"glm-4","messages":[{"role":"user","content":"hi"}]})").substr(0, 40),
  };
  const auto upstream = glm_stats(d.sim()).at("chat_requests").to_number<std::int64_t>();
  for (const auto& body : bodies) {
    SCOPED_TRACE(body);
    auto original = chat(d, kOriginalChat, "Bearer " + token, body);
    EXPECT_EQ(original.status, 200) << original.raw;
    EXPECT_EQ(envelope_code(original), "0002") << original.body;
    auto openai = chat(d, kOpenAiChat, "Bearer " + token, body);
    EXPECT_EQ(openai.status, 400) << openai.raw;
    EXPECT_EQ(openai_error_code(openai), "invalid_request") << openai.body;
  }
  EXPECT_EQ(glm_stats(d.sim()).at("chat_requests").to_number<std::int64_t>(), upstream);
}

TEST_F(BadInput, UnknownPathsAndMethods) {
  auto missing = d.request("GET", "/api/v1/nothing-here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(envelope_code(missing), "0004");
  EXPECT_EQ(d.request("GET", "/v1/nothing-here").status, 404);
  auto wrong_method = d.request("GET", kOpenAiChat);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers["allow"], "POST");
}

TEST_F(BadInput, PathsOutOfTheWebFolderAreNotServed) {
  EXPECT_EQ(d.request("GET", "/app.js").status, 200);  // the page's own files are
  for (const std::string target :
       {"/static/../../../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static/%2fetc%2fpasswd", "/static//etc/passwd", "/..", "/static/%00",
        "/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt"}) {
    SCOPED_TRACE(target);
    auto r = d.request("GET", target);
    EXPECT_TRUE(r.status == 404 || r.status == 400) << r.status;
    EXPECT_EQ(r.body.find("root:"), std::string::npos);
    EXPECT_EQ(r.body.find("cmake_minimum_required"), std::string::npos);
  }
}

TEST_F(BadInput, PipelinedRequestsAreAnsweredInOrderUntilABrokenOne) {
  std::string refused_chat = chat_json("glm-4", "hi");
  std::string raw =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(refused_chat.size()) + "\r\n\r\n" + refused_chat +
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + "GET /v1/models HTTP/1.1\r\nHost x\r\n\r\n" +
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string got = exchange(raw);
  auto first = got.find("HTTP/1.1 401");
  auto second = got.find("HTTP/1.1 200", first);
  auto third = got.find("HTTP/1.1 400", second);
  EXPECT_EQ(first, 0u) << got;
  EXPECT_NE(second, std::string::npos) << got;
  EXPECT_NE(third, std::string::npos) << got;
  // Nothing is read after the broken request: the connection ends there.
  EXPECT_EQ(got.find("HTTP/1.1", third + 1), std::string::npos) << got;
}

TEST_F(BadInput, AThousandIdleConnectionsDoNotStopOthers) {
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<RawClient>(d.port()));
    // Every tenth one starts a request and stops halfway through its head.
    if (i % 10 == 0)
      idle.back()->send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le");
  }
  const auto started = std::chrono::steady_clock::now();
  auto health = d.request("GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  auto answer = chat(d, kOriginalChat, "Bearer " + token, chat_json("glm-4", "still here?"));
  EXPECT_EQ(answer.body, "Echo: still here?");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  run_ok(d, {"user", "grant", "careful", "1"});  // TearDown counts the quota
  // None of the idle ones got an answer or was dropped meanwhile.
  int answered = 0, dropped = 0;
  for (auto& c : idle) {
    c->read_until([](const std::string& got) { return !got.empty(); }, 0ms);
    answered += c->received().empty() ? 0 : 1;
    dropped += c->peer_closed() ? 1 : 0;
  }
  EXPECT_EQ(answered, 0);
  EXPECT_EQ(dropped, 0);
  idle.clear();
}

}  // namespace
}  // namespace chatglmd::testing
