// Signals through the real daemon: SIGHUP reloads (and refuses a broken file without stopping),
// SIGTERM drains open streams before exiting, a second SIGTERM cuts the drain short.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <memory>

#include "daemon/daemon_client.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The default stop budget ([http] drain): how long SIGTERM lets open answers finish.
constexpr auto kDrainBound = 20s;

// The last user message the upstream received.
std::string upstream_saw(SimProcess& sim) {
  auto body = boost::json::parse(glm_stats(sim).at("last_request_body").as_string());
  return std::string(body.at("messages").as_array().back().at("content").as_string());
}

// What the log says after `from` (a size of the log taken earlier).
std::string log_since(const DaemonHarness& d, std::size_t from) {
  std::string log = d.log();
  return from < log.size() ? log.substr(from) : "";
}

// A streaming OpenAI chat over HTTP/1.0, so the answer's end is the connection's close.
std::unique_ptr<RawClient> open_stream(const DaemonHarness& d, const std::string& openid,
                                       const std::string& text) {
  std::string body = chat_json("glm-4", text, R"("stream":true)");
  auto c = std::make_unique<RawClient>(d.port());
  c->send("POST " + kOpenAiChat + " HTTP/1.0\r\nAuthorization: Bearer " + d.token_for(openid) +
          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n\r\n" + body);
  return c;
}

// The answer body once the head and the first piece have arrived.
bool first_piece_arrived(const std::string& got) {
  auto head = got.find("\r\n\r\n");
  return head != std::string::npos && got.find("data: ", head) != std::string::npos;
}

// SIGHUP is done once the filter it rebuilt is logged after "configuration reloaded".
bool hup_reload_done(const DaemonHarness& d, std::size_t mark, const std::string& filter_line) {
  std::string since = log_since(d, mark);
  auto reloaded = since.find("configuration reloaded");
  return reloaded != std::string::npos && since.find(filter_line, reloaded) != std::string::npos;
}

TEST(Signals, HupRefusesABrokenConfigAndKeepsServingThenAppliesNewWordsAtOnce) {
  DaemonHarness d;
  run_ok(d, {"user", "add", "writer", "--quota", "100"});
  run_ok(d, {"user", "add", "editor", "--quota", "100"});
  const std::string writer = "Bearer " + d.token_for("writer");
  const std::string editor = "Bearer " + d.token_for("editor");
  const std::string good_ini = read_file(d.ini());

  write_file(d.ini(), good_ini + "\n[chat]\nno_such_key = 1\n");
  std::size_t mark = d.log().size();
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] { return log_since(d, mark).find("reload refused") != std::string::npos; }, 5s))
      << d.log();
  EXPECT_NE(log_since(d, mark).find("no_such_key"), std::string::npos) << log_since(d, mark);
  ASSERT_TRUE(d.running());
  EXPECT_EQ(d.request("GET", "/healthz").status, 200);
  auto still = chat(d, kOriginalChat, writer, chat_json("glm-4", "一个新词"));
  EXPECT_EQ(still.body, "Echo: 一个新词");  // no word yet: sent as written

  // The fixed file also whitelists the editor: a config whitelist changes only by reload.
  write_file(d.ini(), good_ini + "\n[auth]\nwhitelist = editor\n");
  run_ok(d, {"words", "add", "新词"});
  mark = d.log().size();
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return hup_reload_done(d, mark, "filter: 1 words"); }, 5s))
      << log_since(d, mark);
  // At once: the first chat after the reload is masked, no waiting for the word poll.
  auto masked = chat(d, kOriginalChat, writer, chat_json("glm-4", "一个新词"));
  EXPECT_EQ(upstream_saw(d.sim()), "一个**");
  EXPECT_EQ(masked.body, "Echo: 一个**");
  chat(d, kOriginalChat, editor, chat_json("glm-4", "一个新词"));
  EXPECT_EQ(upstream_saw(d.sim()), "一个新词");

  // A word written into the table behind the daemon's back (a restore, a hand edit) moves no
  // change stamp, so the poll never sees it: only SIGHUP's reload can.
  sql_exec(d.db(), "INSERT INTO sensitive_word (word, created_at) VALUES ('旧词', 0)");
  chat(d, kOriginalChat, writer, chat_json("glm-4", "一个旧词"));
  EXPECT_EQ(upstream_saw(d.sim()), "一个旧词");
  mark = d.log().size();
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return hup_reload_done(d, mark, "filter: 2 words"); }, 5s))
      << log_since(d, mark);
  chat(d, kOriginalChat, writer, chat_json("glm-4", "一个旧词"));
  EXPECT_EQ(upstream_saw(d.sim()), "一个**");
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

TEST(Signals, TermWhileAStreamIsOpenLetsItFinishThenExitsCleanly) {
  DaemonHarness d(DaemonOptions{{}, {"--chunk-delay-ms", "150"}, true});
  run_ok(d, {"user", "add", "reader", "--quota", "10"});
  const std::string text = "a slow answer that takes a while";
  auto c = open_stream(d, "reader", text);
  ASSERT_TRUE(c->read_until(first_piece_arrived, 5s)) << c->received();
  ASSERT_EQ(c->received().find("[DONE]"), std::string::npos) << "the answer ended before SIGTERM";

  const auto signalled = Clock::now();
  d.signal(SIGTERM);
  ASSERT_TRUE(c->read_to_eof(kDrainBound)) << c->received();
  int code = d.wait_exit(kDrainBound);
  EXPECT_EQ(code, 0) << d.log();
  EXPECT_LT(Clock::now() - signalled, kDrainBound);
  EXPECT_NE(d.log().find("draining"), std::string::npos) << d.log();

  const std::string& raw = c->received();
  EXPECT_EQ(status_of(raw), 200) << raw;
  auto answer = parse_openai_stream(raw.substr(raw.find("\r\n\r\n") + 4));
  EXPECT_TRUE(answer.done) << raw;
  EXPECT_FALSE(answer.error) << raw;
  EXPECT_EQ(answer.text, "Echo: " + text);
  EXPECT_EQ(answer.finish_reason, "stop");
}

TEST(Signals, ASecondTermDuringTheDrainExitsAtOnce) {
  // 200 characters in pieces of 4, one every 500 ms: the answer needs about 25 s.
  DaemonHarness d(DaemonOptions{{}, {"--chunk-delay-ms", "500"}, true});
  run_ok(d, {"user", "add", "reader", "--quota", "10"});
  auto c = open_stream(d, "reader", "len:200");
  ASSERT_TRUE(c->read_until(first_piece_arrived, 5s)) << c->received();

  std::size_t mark = d.log().size();
  d.signal(SIGTERM);
  ASSERT_TRUE(
      eventually([&] { return log_since(d, mark).find("draining") != std::string::npos; }, 5s))
      << d.log();
  ASSERT_TRUE(d.running()) << "the first SIGTERM must wait for the open answer";
  const auto second = Clock::now();
  d.signal(SIGTERM);
  int code = d.wait_exit(5s);
  const auto took = Clock::now() - second;
  EXPECT_NE(code, -1) << "still running 5 s after the second SIGTERM\n" << d.log();
  EXPECT_NE(code, 0);
  EXPECT_LT(took, 2s);
  EXPECT_NE(log_since(d, mark).find("exiting now"), std::string::npos) << log_since(d, mark);
  // The answer was cut: the client sees the close without the end of the stream.
  EXPECT_TRUE(c->read_to_eof(5s));
  EXPECT_EQ(c->received().find("[DONE]"), std::string::npos);
}

}  // namespace
}  // namespace chatglmd::testing
