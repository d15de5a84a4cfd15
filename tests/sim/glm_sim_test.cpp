// The ChatGLM half of chatglmd-sim, driven over real HTTP as the daemon and the benchmarks use it.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <future>
#include <thread>

#include "core/time.hpp"
#include "llm/sse_parser.hpp"
#include "llm/zhipu_token.hpp"
#include "net/http_client.hpp"
#include "sim_process.hpp"
#include "support/process.hpp"

namespace chatglmd::sim {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::SimProcess;

class GlmSimTest : public ::testing::Test {
 protected:
  GlmSimTest() : guard_(io_.get_executor()), client_(io_) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~GlmSimTest() override {
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  std::string token(core::UtcMs now = core::SystemClock().now(), core::Millis ttl = 30min,
                    const char* key = SimProcess::kGlmApiKey) {
    return llm::make_zhipu_token(*llm::ZhipuApiKey::parse(key), now, ttl);
  }
  net::FetchResult chat(const std::string& auth, const std::string& message, bool stream = true) {
    json::object body{
        {"model", "glm-4"},
        {"stream", stream},
        {"messages", json::array{json::object{{"role", "user"}, {"content", message}}}}};
    return client_.fetch({"POST",
                          sim_.url("/api/paas/v4/chat/completions"),
                          {{"Authorization", auth}, {"Content-Type", "application/json"}},
                          json::serialize(body)},
                         {});
  }
  json::object control(const std::string& path, const std::string& body = "{}") {
    auto r = client_.fetch({"POST", sim_.url(path), {}, body}, {});
    EXPECT_TRUE(r.ok() && r.response->status == 200) << path;
    return r.ok() ? json::parse(r.response->body).as_object() : json::object{};
  }
  json::object stats() {
    auto r = client_.fetch({"GET", sim_.url("/sim/glm/stats"), {}, ""}, {});
    EXPECT_TRUE(r.ok());
    return json::parse(r.response->body).as_object();
  }

  SimProcess sim_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  net::HttpClient client_;
  std::thread thread_;
};

std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  llm::SseParser parser;
  parser.feed(body, [&](const llm::SseEvent& e) { out.push_back(e.data); });
  return out;
}

TEST_F(GlmSimTest, HealthAndCleanStopOnSigterm) {
  auto r = client_.fetch({"GET", sim_.url("/sim/health"), {}, ""}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response->status, 200);
  EXPECT_EQ(json::parse(r.response->body).at("status"), "ok");
  EXPECT_EQ(sim_.terminate(), 0) << sim_.log();
}

TEST_F(GlmSimTest, StreamsB3Chunks) {
  auto r = chat("Bearer " + token(), "你好 sim");
  ASSERT_TRUE(r.ok()) << r.error.message;
  ASSERT_EQ(r.response->status, 200) << r.response->body;
  EXPECT_NE(r.response->header("Content-Type").find("text/event-stream"), std::string::npos);
  auto events = sse_data(r.response->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text, id;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    auto chunk = json::parse(events[i]).as_object();
    if (id.empty()) id = chunk.at("id").as_string();
    EXPECT_EQ(chunk.at("id").as_string(), id);
    EXPECT_EQ(chunk.at("model"), "glm-4");
    const auto& choice = chunk.at("choices").as_array().at(0).as_object();
    text += choice.at("delta").at("content").as_string();
    const bool last = i + 2 == events.size();
    EXPECT_EQ(choice.contains("finish_reason"), last);
    EXPECT_EQ(chunk.contains("usage"), last);
    if (last) {
      EXPECT_EQ(choice.at("finish_reason"), "stop");
      EXPECT_EQ(chunk.at("usage").at("completion_tokens").as_int64(),
                12);  // "Echo: 你好 sim" in characters
    }
  }
  EXPECT_EQ(text, "Echo: 你好 sim");
  auto s = stats();
  EXPECT_EQ(s.at("streams_completed").as_int64(), 1);
  EXPECT_EQ(s.at("streams_open").as_int64(), 0);
  EXPECT_NE(s.at("last_request_body").as_string().find("你好 sim"), std::string::npos);
}

TEST_F(GlmSimTest, NonStreamAnswerIsOneJson) {
  auto r = chat(token(), "plain", false);  // bare token, no "Bearer"
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.response->status, 200) << r.response->body;
  auto answer = json::parse(r.response->body);
  EXPECT_EQ(answer.at("choices").at(0).at("message").at("content"), "Echo: plain");
  EXPECT_EQ(answer.at("choices").at(0).at("finish_reason"), "stop");
}

TEST_F(GlmSimTest, RejectsBadSignatureExpiredAndMissingTokens) {
  const auto now = core::SystemClock().now();
  const std::vector<std::string> bad = {
      "",
      "Bearer " + token(now, 30min, "simtestid.wrongsecret"),
      "Bearer " + token(now - 2h, 30min),  // exp an hour and a half ago
      "Bearer " + token(now, 30min, "otherid.simtestsecret0123"),
      "Bearer not.a.jwt",
  };
  for (const auto& auth : bad) {
    auto r = chat(auth, "x");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.response->status, 401) << auth;
    EXPECT_EQ(json::parse(r.response->body).at("error").at("code"), "1000") << r.response->body;
  }
  EXPECT_EQ(stats().at("auth_failures").as_int64(), static_cast<std::int64_t>(bad.size()));
}

TEST_F(GlmSimTest, InjectedErrorsAnswerAsZhipuDoes) {
  struct Case {
    const char* kind;
    int status;
    const char* code;
  };
  for (auto c : {Case{"http_401", 401, "1000"}, Case{"http_429", 429, "1302"},
                 Case{"sensitive_1301", 400, "1301"}, Case{"balance_1113", 429, "1113"},
                 Case{"http_500", 500, "500"}, Case{"http_400", 400, "1214"}}) {
    control("/sim/glm/fault", std::string(R"({"kind":")") + c.kind + R"(","count":1})");
    auto r = chat("Bearer " + token(), "x");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.response->status, c.status) << c.kind;
    EXPECT_EQ(json::parse(r.response->body).at("error").at("code"), c.code) << c.kind;
    auto after = chat("Bearer " + token(), "x");  // count 1: the next one is normal again
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after.response->status, 200) << c.kind;
  }
}

TEST_F(GlmSimTest, UnknownFaultKindIsRefused) {
  auto r = client_.fetch({"POST", sim_.url("/sim/glm/fault"), {}, R"({"kind":"nonsense"})"}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response->status, 400);
}

TEST_F(GlmSimTest, LongAnswerSplitInsideCharactersArrivesWhole) {
  control("/sim/glm/config", R"({"split_bytes":7})");
  std::promise<std::optional<net::NetError>> done;
  std::string body;
  int pieces = 0;
  net::StreamCallbacks cb;
  cb.on_data = [&](std::string_view piece) {
    body.append(piece);
    ++pieces;
    return true;
  };
  cb.on_done = [&](std::optional<net::NetError> e) { done.set_value(e); };
  auto handle = client_.async_stream(
      {"POST",
       sim_.url("/api/paas/v4/chat/completions"),
       {{"Authorization", "Bearer " + token()}},
       R"({"model":"glm-4","stream":true,"messages":[{"role":"user","content":"len:10000"}]})"},
      {}, cb);
  ASSERT_FALSE(done.get_future().get());
  std::string text;
  for (const auto& data : sse_data(body)) {
    if (data == "[DONE]") continue;
    text += json::parse(data).at("choices").at(0).at("delta").at("content").as_string();
  }
  std::size_t characters = 0;
  for (unsigned char c : text) characters += (c & 0xC0) != 0x80;
  EXPECT_EQ(characters, 10000u);
  EXPECT_EQ(text.substr(0, 6), "你好");
  EXPECT_GT(pieces, 1);
}

TEST_F(GlmSimTest, ClientDisconnectIsCountedAsCancelled) {
  control("/sim/glm/fault", R"({"kind":"stall"})");
  std::promise<void> first;
  std::promise<std::optional<net::NetError>> done;
  bool got_first = false;
  net::StreamCallbacks cb;
  cb.on_data = [&](std::string_view) {
    if (!got_first) first.set_value();
    got_first = true;
    return true;
  };
  cb.on_done = [&](std::optional<net::NetError> e) { done.set_value(e); };
  auto handle = client_.async_stream(
      {"POST",
       sim_.url("/api/paas/v4/chat/completions"),
       {{"Authorization", "Bearer " + token()}},
       R"({"model":"glm-4","stream":true,"messages":[{"role":"user","content":"len:40"}]})"},
      {}, cb);
  first.get_future().get();
  EXPECT_EQ(stats().at("streams_open").as_int64(), 1);
  handle->cancel();
  done.get_future().get();
  EXPECT_TRUE(
      testing::eventually([&] { return stats().at("streams_cancelled").as_int64() == 1; }, 5s));
  EXPECT_EQ(stats().at("streams_open").as_int64(), 0);
}

}  // namespace
}  // namespace chatglmd::sim
