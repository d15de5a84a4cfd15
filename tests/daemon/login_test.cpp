// Login the way a user does it: a text message to the WeChat official account comes back to the
// daemon as a signed POST, the reply carries a code, the code buys a token, the token works.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "daemon/daemon_client.hpp"
#include "daemon/wechat_portal.hpp"
#include "http/handlers/app_services.hpp"
#include "llm/jwt.hpp"

namespace chatglmd::testing {
namespace {

boost::json::value login(const DaemonHarness& d, const std::string& form) {
  return boost::json::parse(d.request("POST", "/api/v1/auth/login", form).body);
}

struct Login : ::testing::Test {
  static void SetUpTestSuite() { daemon = new DaemonHarness(); }
  static void TearDownTestSuite() {
    delete daemon;
    daemon = nullptr;
  }
  static DaemonHarness* daemon;
  const DaemonHarness& d = *daemon;
};
DaemonHarness* Login::daemon = nullptr;

TEST_F(Login, PortalCheckEchoesOnlyForAValidSignature) {
  auto ok = d.request("GET", kPortal + "?" +
                                 signed_query(DaemonHarness::kWechatToken, "1700000000", "n0nce") +
                                 "&echostr=echo-4711");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "echo-4711");

  auto wrong_token =
      d.request("GET", kPortal + "?" + signed_query("other-token", "1700000000", "n0nce") +
                           "&echostr=echo-4711");
  EXPECT_EQ(wrong_token.status, 200);
  EXPECT_EQ(wrong_token.body.find("echo-4711"), std::string::npos) << wrong_token.body;

  // The signature covers the timestamp: the same signature with another timestamp fails.
  std::string q = signed_query(DaemonHarness::kWechatToken, "1700000000", "n0nce");
  q.replace(q.find("1700000000"), 10, "1700000001");
  auto replayed = d.request("GET", kPortal + "?" + q + "&echostr=echo-4711");
  EXPECT_EQ(replayed.body.find("echo-4711"), std::string::npos);

  auto unsigned_ = d.request("GET", kPortal + "?echostr=echo-4711");
  EXPECT_EQ(unsigned_.body.find("echo-4711"), std::string::npos);
}

TEST_F(Login, MessageGivesACodeThatBuysOneWorkingToken) {
  const std::string openid = "oWx-login-user-1";
  const auto before = std::chrono::system_clock::now();
  auto reply = d.request("POST", kPortal + "?" + fresh_query("abc"), text_message(openid, "登录"),
                         {{"Content-Type", "text/xml"}});
  ASSERT_EQ(reply.status, 200);
  // The reply goes back to the user: To is the user, From is the account.
  EXPECT_NE(reply.body.find("<ToUserName><![CDATA[" + openid + "]]>"), std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("<FromUserName><![CDATA[gh_account]]>"), std::string::npos);
  std::string code = code_in(reply.body);
  ASSERT_FALSE(code.empty()) << reply.body;

  // The code is good for three minutes (the daemon's clock cannot be moved: read the row).
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  auto expires = sql_int(d.db(), "SELECT expires_at FROM login_code WHERE code='" + code + "'");
  EXPECT_GE(expires - now_ms, 180'000 - 5'000);
  EXPECT_LE(expires - now_ms, 180'000 + 1'000);

  auto first = login(d, "code=" + code);
  ASSERT_EQ(first.at("code").as_string(), "0000") << first;
  std::string token(first.at("data").as_string());
  // Signed with the configured secret; openId and sub name the user; 7 days by default.
  auto check = llm::jwt_verify_hs256(token, "test-token-secret-0123456789");
  ASSERT_TRUE(check.ok());
  auto claims = boost::json::parse(check.payload_json);
  EXPECT_EQ(claims.at("openId").as_string(), openid);
  EXPECT_EQ(claims.at("sub").as_string(), openid);
  EXPECT_EQ(claims.at("exp").to_number<std::int64_t>() - claims.at("iat").to_number<std::int64_t>(),
            7 * 86400);

  auto quota =
      boost::json::parse(d.post_form("/api/v1/account/query_account_quota", "", token).body);
  EXPECT_EQ(quota.at("code").as_string(), "0000") << quota;

  // Single use: the same code again is refused, and so is a code nobody was given.
  auto again = login(d, "code=" + code);
  EXPECT_EQ(again.at("code").as_string(), "0003") << again;
  std::string wrong = code == "123456" ? "654321" : "123456";
  EXPECT_EQ(login(d, "code=" + wrong).at("code").as_string(), "0003");
  EXPECT_EQ(login(d, "code=").at("code").as_string(), "0002");
  EXPECT_EQ(login(d, "").at("code").as_string(), "0002");
}

TEST_F(Login, ExpiredCodeIsRefused) {
  const std::string openid = "oWx-login-user-2";
  auto reply = d.request("POST", kPortal + "?" + fresh_query("xyz"), text_message(openid, "hi"),
                         {{"Content-Type", "text/xml"}});
  std::string code = code_in(reply.body);
  ASSERT_FALSE(code.empty()) << reply.body;
  // The three minutes passed: what the daemon will see once its clock gets there.
  sql_exec(d.db(),
           "UPDATE login_code SET expires_at = expires_at - 181000 WHERE code='" + code + "'");
  auto late = login(d, "code=" + code);
  EXPECT_EQ(late.at("code").as_string(), "0003") << late;
}

TEST_F(Login, UnsignedMessageGetsNoCode) {
  auto forged = d.request("POST", kPortal + "?" + signed_query("not-the-token", "1700000300", "n"),
                          text_message("oWx-attacker", "登录"), {{"Content-Type", "text/xml"}});
  EXPECT_EQ(forged.status, 200);
  EXPECT_TRUE(code_in(forged.body).empty()) << forged.body;
  EXPECT_EQ(sql_int(d.db(), "SELECT count(*) FROM login_code WHERE openid='oWx-attacker'"), 0);
}

TEST_F(Login, ANewMessageReplacesTheUsersOlderCode) {
  auto message = [&](const std::string& ts) {
    return code_in(d.request("POST", kPortal + "?" + fresh_query("r" + ts),
                             text_message("oWx-twice", "hi"), {{"Content-Type", "text/xml"}})
                       .body);
  };
  std::string older = message("1700000500");
  std::string newer = message("1700000501");
  ASSERT_FALSE(older.empty());
  ASSERT_NE(older, newer);
  EXPECT_EQ(login(d, "code=" + older).at("code").as_string(), "0003");  // one live code per user
  auto ok = login(d, "code=" + newer);
  EXPECT_EQ(ok.at("code").as_string(), "0000") << ok;
}

TEST_F(Login, CodesAreDistinctPerMessage) {
  std::set<std::string> codes;
  for (int i = 0; i < 5; ++i) {
    auto r = d.request("POST", kPortal + "?" + fresh_query("n" + std::to_string(i)),
                       text_message("oWx-many", "hi"), {{"Content-Type", "text/xml"}});
    codes.insert(code_in(r.body));
  }
  EXPECT_EQ(codes.size(), 5u);
  EXPECT_EQ(codes.count(""), 0u);
}

// WeChat signs token, timestamp and nonce but not the message: a signed URL seen once must not
// buy a login code for another openid later.
TEST_F(Login, StaleOrReplayedMessagesGetNoCode) {
  auto post = [&](const std::string& query, const std::string& openid) {
    return d.request("POST", kPortal + "?" + query, text_message(openid, "登录"),
                     {{"Content-Type", "text/xml"}});
  };
  std::string q = fresh_query("once");
  EXPECT_FALSE(code_in(post(q, "oWx-first").body).empty());
  auto replayed = post(q, "oWx-victim");
  EXPECT_TRUE(code_in(replayed.body).empty()) << replayed.body;
  EXPECT_NE(replayed.body.find("stale or repeated"), std::string::npos) << replayed.body;
  auto stale = post(fresh_query("old", -10 * 60), "oWx-victim");
  EXPECT_TRUE(code_in(stale.body).empty()) << stale.body;
  auto future = post(fresh_query("future", 10 * 60), "oWx-victim");
  EXPECT_TRUE(code_in(future.body).empty()) << future.body;
  auto rows = run_command(
      {"/usr/bin/sqlite3", d.db(), "SELECT count(*) FROM login_code WHERE openid = 'oWx-victim'"});
  EXPECT_EQ(rows.out, "0\n");
}

// Guessing a live code: every request comes from 127.0.0.1, so this daemon of its own gives the
// address a fresh budget (the suite above shares one daemon and stays well under the limit).
TEST(LoginLimit, WrongCodesFromOneAddressStopAtTheLimitAndTheRightCodeWaitsToo) {
  DaemonHarness d;
  auto reply = d.request("POST", kPortal + "?" + fresh_query("g"),
                         text_message("oWx-guessed", "登录"), {{"Content-Type", "text/xml"}});
  const std::string code = code_in(reply.body);
  ASSERT_FALSE(code.empty()) << reply.body;

  // Guesses in another code's slot: this is about the address's budget, not the code's.
  const std::string slot = code.substr(0, 3) == "999" ? "998" : "999";
  for (int tried = 0; tried < http::kLoginFailuresPerMinute; ++tried) {
    auto r = login(d, fmt::format("code={}{:05}", slot, tried));
    ASSERT_EQ(r.at("code").as_string(), "0003") << "attempt " << tried << ": " << r;
  }
  auto limited = login(d, "code=" + slot + "99999");
  EXPECT_EQ(limited.at("code").as_string(), "0005") << limited;
  EXPECT_NE(limited.at("info").as_string().find("try again in a minute"), std::string::npos)
      << limited;
  // The right code is refused without being looked up: it is still there, unused.
  auto right = login(d, "code=" + code);
  EXPECT_EQ(right.at("code").as_string(), "0005") << right;
  EXPECT_EQ(
      sql_int(d.db(), "SELECT count(*) FROM login_code WHERE used = 0 AND code='" + code + "'"), 1);
}

}  // namespace
}  // namespace chatglmd::testing
