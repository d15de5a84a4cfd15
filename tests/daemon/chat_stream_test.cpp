// What a chat costs and what reaches the user, through a real daemon and the simulated ChatGLM:
// one quota per answer, given back when the upstream fails before the first token and not after;
// a long answer cut inside UTF-8 characters arrives intact; a client that leaves stops the
// upstream at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <thread>

#include "daemon/daemon_client.hpp"
#include "glm_sim.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;

std::int64_t stat(SimProcess& sim, const char* name) {
  return glm_stats(sim).at(name).to_number<std::int64_t>();
}

DaemonOptions fast_upstream_timeouts() {
  DaemonOptions o;
  o.config = {{"chatglm.first_byte_timeout", "600ms"},
              {"chatglm.idle_timeout", "600ms"},
              {"chat.free_chats", "1"}};
  return o;
}

struct ChatCost : ::testing::Test {
  static void SetUpTestSuite() { daemon = new DaemonHarness(fast_upstream_timeouts()); }
  static void TearDownTestSuite() {
    delete daemon;
    daemon = nullptr;
  }
  void TearDown() override { sim_call(d.sim(), "POST", "/sim/glm/faults/clear"); }
  static DaemonHarness* daemon;
  DaemonHarness& d = *daemon;
};
DaemonHarness* ChatCost::daemon = nullptr;

TEST_F(ChatCost, OneQuotaPerAnswerOnEveryPathAndFraming) {
  run_ok(d, {"user", "add", "payer", "--quota", "10"});
  std::string auth = "Bearer " + d.token_for("payer");
  const auto upstream = stat(d.sim(), "chat_requests");

  auto original = chat(d, kOriginalChat, auth, chat_json("glm-4", "one"));
  EXPECT_EQ(original.status, 200);
  EXPECT_EQ(original.headers["content-type"].rfind("text/event-stream", 0), 0u) << original.raw;
  EXPECT_EQ(original.body, "Echo: one");  // raw text pieces, no data: framing
  EXPECT_EQ(surplus_quota(d, "payer"), 9);

  auto streamed = chat(d, kOpenAiChat, auth, chat_json("glm-4", "two", R"("stream":true)"));
  auto s = parse_openai_stream(streamed.body);
  EXPECT_EQ(s.text, "Echo: two");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.finish_reason, "stop");
  EXPECT_EQ(surplus_quota(d, "payer"), 8);

  auto whole = chat(d, kOpenAiChat, auth, chat_json("glm-4", "three"));
  ASSERT_EQ(whole.status, 200) << whole.raw;
  auto answer = boost::json::parse(whole.body);
  EXPECT_EQ(answer.at("choices").at(0).at("message").at("content").as_string(), "Echo: three");
  EXPECT_EQ(surplus_quota(d, "payer"), 7);
  EXPECT_EQ(stat(d.sim(), "chat_requests"), upstream + 3);
}

// /v1 chunks are written around the escaped piece (not rebuilt as JSON per token): every chunk
// must still be the same JSON object, and text JSON must escape must come through unchanged.
TEST_F(ChatCost, OpenAiChunksKeepTheirShapeAndEscapeEveryPiece) {
  run_ok(d, {"user", "add", "quoter", "--quota", "10"});
  const std::string text = "say \"hi\"\\ then\nnew line\t\x01 你好 </script>";
  auto streamed = chat(d, kOpenAiChat, "Bearer " + d.token_for("quoter"),
                       chat_json("glm-4", text, R"("stream":true)"));
  ASSERT_EQ(streamed.status, 200) << streamed.raw;
  EXPECT_EQ(parse_openai_stream(streamed.body).text, "Echo: " + text);
  std::string id;
  int pieces = 0;
  std::size_t at = 0;
  while ((at = streamed.body.find("data: {", at)) != std::string::npos) {
    auto end = streamed.body.find("\n\n", at);
    auto chunk = boost::json::parse(streamed.body.substr(at + 6, end - at - 6)).as_object();
    at = end;
    const auto& choice = chunk.at("choices").as_array().at(0).as_object();
    if (!choice.at("finish_reason").is_null()) continue;  // the last chunk
    ++pieces;
    EXPECT_EQ(chunk.at("object").as_string(), "chat.completion.chunk");
    EXPECT_EQ(chunk.at("model").as_string(), "glm-4");
    EXPECT_TRUE(chunk.at("created").is_int64());
    if (id.empty()) id = std::string(chunk.at("id").as_string());
    EXPECT_EQ(chunk.at("id").as_string(), id) << "one id for the whole answer";
    EXPECT_EQ(choice.at("index").as_int64(), 0);
    EXPECT_EQ(choice.at("delta").at("role").as_string(), "assistant");
    EXPECT_EQ(choice.size(), 3u);
    EXPECT_EQ(chunk.size(), 5u);
  }
  EXPECT_GT(pieces, 3);
}

TEST_F(ChatCost, UpstreamFailureBeforeTheFirstTokenGivesTheChatBack) {
  run_ok(d, {"user", "add", "unlucky", "--quota", "3"});
  std::string auth = "Bearer " + d.token_for("unlucky");
  // fault -> the /v1 status it maps to
  const std::vector<std::pair<std::string, int>> faults = {
      {"http_500", 502}, {"http_429", 502},       {"balance_1113", 502}, {"http_401", 502},
      {"http_400", 502}, {"sensitive_1301", 400}, {"hang", 504}};
  for (const auto& [fault, status] : faults) {
    SCOPED_TRACE(fault);
    glm_fault(d.sim(), fault);
    auto original = chat(d, kOriginalChat, auth, chat_json("glm-4", "x"));
    EXPECT_EQ(original.status, 200);
    EXPECT_EQ(envelope_code(original), "0009") << original.raw;
    EXPECT_EQ(surplus_quota(d, "unlucky"), 3);

    glm_fault(d.sim(), fault);
    auto streamed = chat(d, kOpenAiChat, auth, chat_json("glm-4", "x", R"("stream":true)"));
    EXPECT_EQ(streamed.status, status) << streamed.raw;
    EXPECT_FALSE(openai_error_code(streamed).empty()) << streamed.body;
    EXPECT_EQ(surplus_quota(d, "unlucky"), 3);

    glm_fault(d.sim(), fault);
    auto whole = chat(d, kOpenAiChat, auth, chat_json("glm-4", "x"));
    EXPECT_EQ(whole.status, status) << whole.raw;
    EXPECT_EQ(surplus_quota(d, "unlucky"), 3);
  }
  // The chats given back are really there.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(chat(d, kOriginalChat, auth, chat_json("glm-4", "ok")).body, "Echo: ok");
  EXPECT_EQ(surplus_quota(d, "unlucky"), 0);
}

TEST_F(ChatCost, AFailedFreeChatIsGivenBackToo) {
  std::string auth = "Bearer " + d.token_for("free-unlucky");
  glm_fault(d.sim(), "http_500");
  EXPECT_EQ(envelope_code(chat(d, kOriginalChat, auth, chat_json("glm-4", "x"))), "0009");
  EXPECT_EQ(chat(d, kOriginalChat, auth, chat_json("glm-4", "free")).body, "Echo: free");
  EXPECT_EQ(envelope_code(chat(d, kOriginalChat, auth, chat_json("glm-4", "more"))), "0006");
}

TEST_F(ChatCost, FailureAfterTheFirstTokenIsNotGivenBack) {
  run_ok(d, {"user", "add", "half-answer", "--quota", "20"});
  std::string auth = "Bearer " + d.token_for("half-answer");
  const std::string full = sim::glm_sim_answer("len:200");
  std::int64_t quota = 20;
  for (const std::string fault :
       {"mid_stream_error", "disconnect", "stall", "truncate", "sensitive_finish"}) {
    SCOPED_TRACE(fault);
    glm_fault(d.sim(), fault);
    auto original = chat(d, kOriginalChat, auth, chat_json("glm-4", "len:200"));
    EXPECT_EQ(original.status, 200);
    // Part of the answer arrived, then a note that it was cut short (the stream's only channel).
    EXPECT_GT(original.body.size(), 0u);
    EXPECT_EQ(original.body.compare(0, 12, full, 0, 12), 0) << original.body;
    EXPECT_NE(original.body, full);
    // The note is in the page's language, on a line of its own at the end.
    const std::string note = fault == "sensitive_finish" ? "\n\n[回答中断：内容未通过安全审核]"
                             : fault == "stall" ? "\n\n[回答中断：模型服务响应超时，请重试]"
                                                : "\n\n[回答中断：模型服务出错，请重试]";
    ASSERT_GE(original.body.size(), note.size()) << original.body;
    EXPECT_EQ(original.body.substr(original.body.size() - note.size()), note) << original.body;
    EXPECT_EQ(surplus_quota(d, "half-answer"), --quota);

    glm_fault(d.sim(), fault);
    auto streamed = chat(d, kOpenAiChat, auth, chat_json("glm-4", "len:200", R"("stream":true)"));
    EXPECT_EQ(streamed.status, 200);
    auto s = parse_openai_stream(streamed.body);
    EXPECT_TRUE(s.done) << streamed.body;  // the client is told the end, not left hanging
    EXPECT_NE(s.finish_reason, "stop");
    EXPECT_FALSE(s.text.empty());
    EXPECT_LT(s.text.size(), full.size());
    EXPECT_EQ(surplus_quota(d, "half-answer"), --quota);
  }
}

TEST_F(ChatCost, AUserWhoLeavesBeforeTheFirstTokenKeepsTheChat) {
  run_ok(d, {"user", "add", "impatient", "--quota", "2"});
  std::string token = d.token_for("impatient");
  glm_fault(d.sim(), "hang");
  const auto upstream = stat(d.sim(), "chat_requests");
  {
    RawClient c(d.port());
    std::string body = chat_json("glm-4", "wait");
    c.send("POST /api/v1/chatgpt/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           token + "\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body);
    ASSERT_TRUE(eventually([&] { return stat(d.sim(), "chat_requests") > upstream; }, 5s));
    EXPECT_EQ(surplus_quota(d, "impatient"), 1);  // taken while the answer is pending
  }
  EXPECT_TRUE(eventually([&] { return surplus_quota(d, "impatient") == 2; }, 5s));
}

// HTTP/1.0 has no chunked encoding (RFC 9112 6.1: a server must not send Transfer-Encoding to
// a 1.0 request): the stream is the raw body and the end is the close, as the original path says.
TEST_F(ChatCost, AnHttp10ClientGetsTheStreamWithoutChunkedFraming) {
  run_ok(d, {"user", "add", "old-client", "--quota", "5"});
  std::string token = d.token_for("old-client");
  for (const auto& [path, extra] :
       {std::pair{kOriginalChat, ""}, std::pair{kOpenAiChat, R"("stream":true)"}}) {
    SCOPED_TRACE(path);
    std::string body = chat_json("glm-4", "len:50", extra);
    RawClient c(d.port());
    c.send("POST " + path + " HTTP/1.0\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
    ASSERT_TRUE(c.read_to_eof(5s));
    const std::string& raw = c.received();
    auto head_end = raw.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << raw;
    std::string head = raw.substr(0, head_end);
    EXPECT_EQ(status_of(raw), 200) << head;
    EXPECT_EQ(head.find("chunked"), std::string::npos) << head;
    std::string answer = raw.substr(head_end + 4);
    if (path == kOpenAiChat) answer = parse_openai_stream(answer).text;
    EXPECT_EQ(answer, sim::glm_sim_answer("len:50"));
  }
  EXPECT_EQ(surplus_quota(d, "old-client"), 3);
}

TEST_F(ChatCost, ConcurrentChatsNeverSpendMoreThanTheQuota) {
  run_ok(d, {"user", "add", "rusher", "--quota", "3"});
  std::string auth = "Bearer " + d.token_for("rusher");
  std::vector<std::string> codes(12);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    clients.emplace_back([&, i] {
      auto r = chat(d, i % 2 ? kOpenAiChat : kOriginalChat, auth,
                    chat_json("glm-4", "go", R"("stream":true)"));
      if (i % 2)
        codes[i] =
            parse_openai_stream(r.body).text == "Echo: go" ? "answered" : openai_error_code(r);
      else
        codes[i] = r.body == "Echo: go" ? "answered" : envelope_code(r);
    });
  }
  for (auto& t : clients) t.join();
  // Three bought chats and this daemon's one free chat; never more.
  EXPECT_EQ(std::count(codes.begin(), codes.end(), "answered"), 4);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), "0006") +
                std::count(codes.begin(), codes.end(), "insufficient_quota"),
            8);
  EXPECT_EQ(surplus_quota(d, "rusher"), 0);
}

// A 10,000-character answer written by the upstream in 5-byte pieces, so nearly every write
// ends inside a UTF-8 character.
TEST(ChatLongAnswer, ArrivesIntactWhenTheUpstreamSplitsCharacters) {
  DaemonOptions options;
  options.sim_args = {"--split-bytes", "5"};
  DaemonHarness d(options);
  run_ok(d, {"user", "add", "reader", "--quota", "5"});
  std::string auth = "Bearer " + d.token_for("reader");
  const std::string expected = sim::glm_sim_answer("len:10000");
  ASSERT_EQ(utf8_length(expected), 10000);
  ASSERT_GT(expected.size(), 15000u);  // mostly Chinese: multi-byte characters everywhere

  auto original = chat(d, kOriginalChat, auth, chat_json("glm-4", "len:10000"));
  EXPECT_EQ(original.status, 200);
  EXPECT_EQ(utf8_length(original.body), 10000);
  EXPECT_TRUE(original.body == expected) << "the original path changed the answer";

  auto streamed = chat(d, kOpenAiChat, auth, chat_json("glm-4", "len:10000", R"("stream":true)"));
  auto s = parse_openai_stream(streamed.body);
  EXPECT_TRUE(s.done);
  EXPECT_TRUE(s.text == expected) << "the /v1 stream changed the answer (" << utf8_length(s.text)
                                  << " chars)";

  auto whole = chat(d, kOpenAiChat, auth, chat_json("glm-4", "len:10000"));
  ASSERT_EQ(whole.status, 200);
  EXPECT_TRUE(
      boost::json::parse(whole.body).at("choices").at(0).at("message").at("content").as_string() ==
      expected);
  EXPECT_EQ(surplus_quota(d, "reader"), 2);
}

// The upstream paces a long answer; the client closes its socket after the first piece.
TEST(ChatDisconnect, ClosingTheSocketCancelsTheUpstreamWithinASecond) {
  DaemonOptions options;
  options.sim_args = {"--chunk-delay-ms", "20"};
  DaemonHarness d(options);
  run_ok(d, {"user", "add", "leaver", "--quota", "5"});
  std::string token = d.token_for("leaver");
  int cancelled = 0;
  for (const auto& [path, extra] :
       {std::pair{kOriginalChat, ""}, std::pair{kOpenAiChat, R"("stream":true)"}}) {
    SCOPED_TRACE(path);
    std::string body =
        chat_json("glm-4", "len:5000", extra);  // 1,250 pieces: 25 s if nobody stops it
    {
      RawClient c(d.port());
      c.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
             "\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body);
      // Wait for the head and some of the answer.
      ASSERT_TRUE(c.read_until(
          [](const std::string& got) {
            auto head = got.find("\r\n\r\n");
            return head != std::string::npos && got.size() > head + 40;
          },
          5s))
          << c.received();
      EXPECT_EQ(status_of(c.received()), 200);
      EXPECT_EQ(stat(d.sim(), "streams_open"), 1);
    }
    ++cancelled;
    const auto closed_at = std::chrono::steady_clock::now();
    bool stopped = eventually([&] { return stat(d.sim(), "streams_cancelled") >= cancelled; }, 1s);
    EXPECT_TRUE(stopped) << "upstream still streaming "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - closed_at)
                                .count()
                         << " ms after the client left";
    EXPECT_EQ(stat(d.sim(), "streams_open"), 0);
  }
  // Tokens were delivered before the client left: those chats are spent.
  EXPECT_EQ(surplus_quota(d, "leaver"), 3);

  // /v1 without streaming gathers the answer before it writes anything: leaving while it is
  // gathered stops the upstream too.
  {
    std::string body = chat_json("glm-4", "len:5000");
    const auto seen = stat(d.sim(), "streams_open");
    RawClient c(d.port());
    c.send("POST " + kOpenAiChat + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
    ASSERT_TRUE(eventually([&] { return stat(d.sim(), "streams_open") > seen; }, 5s));
  }
  ++cancelled;
  EXPECT_TRUE(eventually([&] { return stat(d.sim(), "streams_cancelled") >= cancelled; }, 1s))
      << "upstream still streaming a second after the client of a stream:false request left";
  EXPECT_EQ(stat(d.sim(), "streams_completed"), 0);
  // (Whether that last chat was spent depends on whether a token reached the daemon before the
  // client left; AUserWhoLeavesBeforeTheFirstTokenKeepsTheChat pins the refund down.)
  // The daemon keeps serving.
  EXPECT_EQ(d.request("GET", "/healthz").status, 200);
}

// Two free chats a window: the first opens the user's window, the second starts at least 20 ms
// later (the first answer comes in pieces 10 ms apart) and fails before its first token. It goes
// back to the window the first opened, which started before the failed chat did.
TEST(ChatFreeWindow, AFailedFreeChatGoesBackToTheWindowItWasCountedIn) {
  DaemonOptions options;
  options.config = {{"chat.free_chats", "2"}};
  DaemonHarness d(options);
  std::string auth = "Bearer " + d.token_for("free-twice");
  sim_call(d.sim(), "POST", "/sim/glm/config", R"({"chunk_delay_ms":10,"piece_chars":2})");
  EXPECT_EQ(chat(d, kOriginalChat, auth, chat_json("glm-4", "one")).body, "Echo: one");
  sim_call(d.sim(), "POST", "/sim/glm/config", R"({"chunk_delay_ms":0})");
  glm_fault(d.sim(), "http_500");
  EXPECT_EQ(envelope_code(chat(d, kOriginalChat, auth, chat_json("glm-4", "x"))), "0009");
  EXPECT_EQ(chat(d, kOriginalChat, auth, chat_json("glm-4", "two")).body, "Echo: two")
      << "the failed chat was given back";
  EXPECT_EQ(envelope_code(chat(d, kOriginalChat, auth, chat_json("glm-4", "three"))), "0006");
}

}  // namespace
}  // namespace chatglmd::testing
