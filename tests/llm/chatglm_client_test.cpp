// ChatGlmClient against the real chatglmd-sim: a normal stream, every error mapping, cancel.
#include "llm/chatglm_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <future>
#include <mutex>
#include <thread>

#include "net/scripted_server.hpp"
#include "sim_process.hpp"
#include "support/process.hpp"

namespace chatglmd::llm {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::SimProcess;

struct Outcome {
  std::vector<std::string> deltas;
  ChatResult result;
  std::string text() const {
    std::string all;
    for (const auto& d : deltas) all += d;
    return all;
  }
};

class ChatGlmClientTest : public ::testing::Test {
 protected:
  ChatGlmClientTest() : clock_(core::SystemClock().now()), guard_(io_.get_executor()), http_(io_) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~ChatGlmClientTest() override {
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  ChatGlmConfig config() {
    ChatGlmConfig c;
    c.base_url = sim_.url("/api/paas/v4");
    c.api_key = SimProcess::kGlmApiKey;
    c.first_byte_timeout = 5s;
    c.idle_timeout = 5s;
    return c;
  }
  static ChatRequest ask(const std::string& text) {
    ChatRequest r;
    r.model = "glm-4";
    r.messages = {{"system", "be brief"}, {"user", text}};
    return r;
  }
  Outcome run(ChatGlmClient& client, const ChatRequest& request) {
    auto outcome = std::make_shared<Outcome>();
    std::promise<void> done;
    auto call = client.start(
        request, {[outcome](std::string_view piece) { outcome->deltas.emplace_back(piece); },
                  [outcome, &done](const ChatResult& r) {
                    outcome->result = r;
                    done.set_value();
                  }});
    done.get_future().get();
    return *outcome;
  }
  void fault(const std::string& kind) {
    auto r =
        http_.fetch({"POST", sim_.url("/sim/glm/fault"), {}, R"({"kind":")" + kind + R"("})"}, {});
    ASSERT_TRUE(r.ok() && r.response->status == 200) << kind;
  }
  json::object stats() {
    auto r = http_.fetch({"GET", sim_.url("/sim/glm/stats"), {}, ""}, {});
    EXPECT_TRUE(r.ok());
    return r.ok() ? json::parse(r.response->body).as_object() : json::object{};
  }

  SimProcess sim_;
  core::ManualClock clock_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  net::HttpClient http_;
  std::vector<std::thread> threads_;
};

TEST_F(ChatGlmClientTest, NormalStreamDeliversPiecesThenResult) {
  ChatGlmClient client(http_, clock_, config());
  auto out = run(client, ask("你好，世界"));
  ASSERT_TRUE(out.result.ok()) << to_string(out.result.error) << " " << out.result.detail;
  EXPECT_EQ(out.text(), "Echo: 你好，世界");
  EXPECT_GT(out.deltas.size(), 1u);
  EXPECT_TRUE(out.result.delivered_any);
  EXPECT_EQ(out.result.finish_reason, "stop");
  ASSERT_TRUE(out.result.usage);
  EXPECT_EQ(out.result.usage->completion_tokens, 11);
  EXPECT_EQ(out.result.http_status, 200);
  // What went upstream: the v4 body with stream:true and a Bearer JWT.
  auto s = stats();
  auto body = json::parse(s.at("last_request_body").as_string());
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("model"), "glm-4");
  EXPECT_EQ(body.at("messages").as_array().size(), 2u);
  EXPECT_EQ(std::string(s.at("last_authorization").as_string()).substr(0, 7), "Bearer ");
}

TEST_F(ChatGlmClientTest, LongAnswerSplitInsideCharacters) {
  auto r = http_.fetch({"POST", sim_.url("/sim/glm/config"), {}, R"({"split_bytes":5})"}, {});
  ASSERT_TRUE(r.ok());
  ChatGlmClient client(http_, clock_, config());
  auto out = run(client, ask("len:10000"));
  ASSERT_TRUE(out.result.ok()) << out.result.detail;
  std::size_t characters = 0;
  for (unsigned char c : out.text()) characters += (c & 0xC0) != 0x80;
  EXPECT_EQ(characters, 10000u);
}

TEST_F(ChatGlmClientTest, TokenIsReplacedWhenUnderAMinuteIsLeft) {
  auto cfg = config();
  cfg.token_ttl = 30min;
  ChatGlmClient client(http_, clock_, cfg);
  ASSERT_TRUE(run(client, ask("one")).result.ok());
  const auto first_auth = stats().at("last_authorization").as_string();
  clock_.advance(29min + 30s);  // 30 s left: under the margin, must not be sent
  ASSERT_TRUE(run(client, ask("two")).result.ok());
  EXPECT_NE(stats().at("last_authorization").as_string(), first_auth);
}

TEST_F(ChatGlmClientTest, ExpiredTokenFromAWrongClockIsAnAuthError) {
  core::ManualClock past(core::SystemClock().now() - 2h);  // a token minted two hours ago
  ChatGlmClient client(http_, past, config());
  auto out = run(client, ask("x"));
  EXPECT_EQ(out.result.error, ChatErrorKind::Auth);
  EXPECT_EQ(out.result.http_status, 401);
  EXPECT_EQ(out.result.upstream_code, "1000");
  EXPECT_FALSE(out.result.delivered_any);
  EXPECT_FALSE(out.result.message.empty());
}

TEST_F(ChatGlmClientTest, WrongSecretIsAnAuthError) {
  auto cfg = config();
  cfg.api_key = "simtestid.not-the-secret";
  ChatGlmClient client(http_, clock_, cfg);
  EXPECT_EQ(run(client, ask("x")).result.error, ChatErrorKind::Auth);
}

TEST_F(ChatGlmClientTest, ErrorsMapToKinds) {
  struct Case {
    const char* fault;
    ChatErrorKind kind;
    bool delivered_any;
  };
  ChatGlmClient client(http_, clock_, config());
  for (auto c : {Case{"http_401", ChatErrorKind::Auth, false},
                 Case{"http_429", ChatErrorKind::RateLimited, false},
                 Case{"sensitive_1301", ChatErrorKind::Sensitive, false},
                 Case{"balance_1113", ChatErrorKind::Balance, false},
                 Case{"http_400", ChatErrorKind::BadRequest, false},
                 Case{"http_500", ChatErrorKind::Upstream, false},
                 Case{"mid_stream_error", ChatErrorKind::Upstream, true},
                 Case{"sensitive_finish", ChatErrorKind::Sensitive, true},
                 Case{"disconnect", ChatErrorKind::Upstream, true},
                 Case{"truncate", ChatErrorKind::Upstream, true}}) {
    fault(c.fault);
    auto out = run(client, ask("a question long enough to stream in several pieces"));
    EXPECT_EQ(out.result.error, c.kind)
        << c.fault << ": " << to_string(out.result.error) << " " << out.result.detail;
    EXPECT_EQ(out.result.delivered_any, c.delivered_any) << c.fault;
    EXPECT_EQ(!out.deltas.empty(), c.delivered_any) << c.fault;
    EXPECT_EQ(out.result.message, user_message(c.kind)) << c.fault;
  }
  // After all that, a normal answer still works (no broken pooled connection left behind).
  EXPECT_TRUE(run(client, ask("fine")).result.ok());
}

TEST_F(ChatGlmClientTest, FirstByteTimeout) {
  auto cfg = config();
  cfg.first_byte_timeout = 200ms;
  ChatGlmClient client(http_, clock_, cfg);
  fault("hang");
  auto out = run(client, ask("x"));
  EXPECT_EQ(out.result.error, ChatErrorKind::Timeout) << out.result.detail;
  EXPECT_FALSE(out.result.delivered_any);
}

TEST_F(ChatGlmClientTest, IdleTimeoutAfterSomeTokens) {
  auto cfg = config();
  cfg.idle_timeout = 200ms;
  ChatGlmClient client(http_, clock_, cfg);
  fault("stall");
  auto out = run(client, ask("a question long enough to stream in several pieces"));
  EXPECT_EQ(out.result.error, ChatErrorKind::Timeout) << out.result.detail;
  EXPECT_TRUE(out.result.delivered_any);
}

TEST_F(ChatGlmClientTest, RefusedConnectionIsUpstreamWithNothingDelivered) {
  auto cfg = config();
  cfg.base_url = "http://127.0.0.1:1/api/paas/v4";
  ChatGlmClient client(http_, clock_, cfg);
  auto out = run(client, ask("x"));
  EXPECT_EQ(out.result.error, ChatErrorKind::Upstream);
  EXPECT_FALSE(out.result.delivered_any);
  // The log line must say which upstream refused, not only "connect: Connection refused".
  EXPECT_NE(out.result.detail.find("chatglm http://127.0.0.1:1/api/paas/v4: connect: "),
            std::string::npos)
      << out.result.detail;
}

TEST_F(ChatGlmClientTest, CancelAbortsTheUpstreamRequest) {
  ChatGlmClient client(http_, clock_, config());
  fault("stall");
  std::promise<void> first, done;
  std::atomic<bool> got_first{false};
  ChatResult result;
  auto call = client.start(ask("a question long enough to stream in several pieces"),
                           {[&](std::string_view) {
                              if (!got_first.exchange(true)) first.set_value();
                            },
                            [&](const ChatResult& r) {
                              result = r;
                              done.set_value();
                            }});
  first.get_future().get();
  call->cancel();
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.error, ChatErrorKind::Cancelled);
  EXPECT_TRUE(result.delivered_any);
  EXPECT_TRUE(
      testing::eventually([&] { return stats().at("streams_cancelled").as_int64() == 1; }, 5s));
}

TEST_F(ChatGlmClientTest, ConfigCheck) {
  auto cfg = config();
  EXPECT_FALSE(ChatGlmClient::check(cfg));
  cfg.api_key = "no-dot";
  EXPECT_TRUE(ChatGlmClient::check(cfg));
  EXPECT_THROW(ChatGlmClient(http_, clock_, cfg), std::invalid_argument);
  cfg = config();
  cfg.base_url = "http://open.bigmodel.cn/api/paas/v4";  // plain http to a real host
  EXPECT_TRUE(ChatGlmClient::check(cfg));
  cfg = config();
  cfg.token_ttl = 30s;
  EXPECT_TRUE(ChatGlmClient::check(cfg));
}

// The stream itself has no length limit (pieces are handed on), so the SSE layer is what must
// stop an upstream that sends one line, or one event, that never ends.
TEST(ChatGlmClientLimitTest, EndlessEventFailsTheCallInsteadOfGrowingWithoutBound) {
  for (std::string repeat : {std::string("x"), std::string("x\ndata: ")}) {
    std::atomic<std::size_t> sent{0};
    testing::Signal client_closed;
    testing::ScriptedServer upstream([&](testing::ScriptedConnection& c) {
      if (!c.read_request()) return;
      if (!c.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                   "Connection: close\r\n\r\ndata: "))
        return;
      std::string piece;
      while (piece.size() < 64 * 1024) piece += repeat;
      while (sent < (16u << 20) && c.write(piece)) sent += piece.size();
      if (c.wait_closed(10s)) client_closed.set();
    });
    boost::asio::io_context io;
    auto guard = boost::asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    {
      net::HttpClient http(io);
      core::ManualClock clock(core::SystemClock().now());
      ChatGlmConfig cfg;
      cfg.base_url = upstream.url("/api/paas/v4");
      cfg.api_key = "id.secret";
      ChatGlmClient client(http, clock, cfg);
      std::promise<ChatResult> done;
      ChatRequest request;
      request.model = "glm-4";
      request.messages = {{"user", "hi"}};
      auto call = client.start(
          request, {[](std::string_view) {}, [&](const ChatResult& r) { done.set_value(r); }});
      auto future = done.get_future();
      ASSERT_EQ(future.wait_for(20s), std::future_status::ready);
      const ChatResult result = future.get();
      EXPECT_EQ(result.error, ChatErrorKind::Upstream) << result.detail;
      EXPECT_NE(result.detail.find("larger than"), std::string::npos) << result.detail;
      EXPECT_FALSE(result.delivered_any);
      EXPECT_TRUE(client_closed.wait(10s)) << "the upstream connection stayed open";
    }
    guard.reset();
    runner.join();
  }
}

// A relay writes a read's pieces together at on_flush: it follows the deltas of each read that
// had text, before the next read's, and none comes for a read without text.
TEST(ChatGlmClientFlushTest, OneFlushAfterTheDeltasOfEachRead) {
  auto event = [](const std::string& text) {
    return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"}}]}\n\n";
  };
  std::mutex mutex;
  std::vector<std::string> log;
  testing::Signal flushed;
  testing::ScriptedServer upstream([&](testing::ScriptedConnection& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
    c.write(event("X") + event("Y"));  // two events in one write
    if (!flushed.wait()) return;
    c.write(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":"
        "\"stop\"}]}\n\ndata: [DONE]\n\n");  // no text: no flush
    c.close();
  });
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  {
    net::HttpClient http(io);
    core::ManualClock clock(core::SystemClock().now());
    ChatGlmConfig cfg;
    cfg.base_url = upstream.url("/api/paas/v4");
    cfg.api_key = "id.secret";
    ChatGlmClient client(http, clock, cfg);
    std::promise<ChatResult> done;
    ChatRequest request;
    request.model = "glm-4";
    request.messages = {{"user", "hi"}};
    ChatCallbacks callbacks;
    callbacks.on_delta = [&](std::string_view piece) {
      std::lock_guard lock(mutex);
      log.push_back("delta " + std::string(piece));
    };
    callbacks.on_flush = [&] {
      {
        std::lock_guard lock(mutex);
        log.emplace_back("flush");
      }
      flushed.set();
    };
    callbacks.on_done = [&](const ChatResult& r) {
      {
        std::lock_guard lock(mutex);
        log.emplace_back("done");
      }
      done.set_value(r);
    };
    auto call = client.start(request, std::move(callbacks));
    auto future = done.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(future.get().ok());
  }
  guard.reset();
  runner.join();
  EXPECT_EQ(log, (std::vector<std::string>{"delta X", "delta Y", "flush", "done"}));
}

TEST(ChatErrorMappingTest, CodesWinOverStatus) {
  EXPECT_EQ(classify_upstream_error(401, "1002"), ChatErrorKind::Auth);
  EXPECT_EQ(classify_upstream_error(429, "1113"), ChatErrorKind::Balance);
  EXPECT_EQ(classify_upstream_error(400, "1301"), ChatErrorKind::Sensitive);
  EXPECT_EQ(classify_upstream_error(429, "1302"), ChatErrorKind::RateLimited);
  EXPECT_EQ(classify_upstream_error(400, "1211"), ChatErrorKind::BadRequest);
  EXPECT_EQ(classify_upstream_error(429, ""), ChatErrorKind::RateLimited);
  EXPECT_EQ(classify_upstream_error(401, ""), ChatErrorKind::Auth);
  EXPECT_EQ(classify_upstream_error(503, ""), ChatErrorKind::Upstream);
  EXPECT_EQ(classify_upstream_error(434, ""), ChatErrorKind::BadRequest);
}

}  // namespace
}  // namespace chatglmd::llm
