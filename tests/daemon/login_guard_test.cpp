// Login that cannot be locked or guessed, against the real binary: behind a reverse proxy each
// client has its own failed-login budget, a header from a stranger changes nothing, a live code
// dies after five wrong tries from anywhere, and the WeChat server token is a secret file.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "daemon/daemon_client.hpp"
#include "daemon/wechat_portal.hpp"
#include "http/handlers/app_services.hpp"
#include "http/handlers/login_codes.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::testing {
namespace {

// The envelope code of a login with `code`, sent as a proxy in front of the daemon sends it:
// with the X-Forwarded-For it built (none when empty).
std::string login(const DaemonHarness& d, const std::string& code,
                  const std::string& forwarded_for = "") {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!forwarded_for.empty()) headers.emplace_back("X-Forwarded-For", forwarded_for);
  auto reply = d.request("POST", "/api/v1/auth/login", "code=" + code, headers);
  return std::string(boost::json::parse(reply.body).at("code").as_string());
}

// A code of the right shape in another slot than `code`'s: a wrong try against no live code.
std::string stray_code(const std::string& code, int n) {
  return fmt::format("{}{:05}", code.substr(0, 3) == "999" ? "998" : "999", n);
}

// Requests reach the daemon from 127.0.0.1, as from an nginx on the same host.
DaemonOptions behind_proxy() {
  DaemonOptions o;
  o.config["http.trusted_proxies"] = "127.0.0.1/32, 10.0.0.0/8";
  return o;
}

TEST(LoginBehindProxy, WrongCodesFromOneClientDoNotLockOutAnotherClientOfTheSameProxy) {
  DaemonHarness d(behind_proxy());
  const std::string code = portal_code(d, "oWx-bystander");
  ASSERT_FALSE(code.empty());
  // The attacker makes up a new leftmost entry each time; our proxies append what they saw.
  for (int i = 0; i < http::kLoginFailuresPerMinute; ++i)
    ASSERT_EQ(login(d, stray_code(code, i), fmt::format("6.6.6.{}, 203.0.113.7, 10.0.0.2", i)),
              "0003")
        << i;
  EXPECT_EQ(login(d, stray_code(code, 99), "7.7.7.7, 203.0.113.7, 10.0.0.2"), "0005");
  // Another client behind the same proxy logs in.
  EXPECT_EQ(login(d, code, "198.51.100.9, 10.0.0.2"), "0000");
  // The limit is logged under the client's address, not the proxy's.
  EXPECT_TRUE(eventually([&] {
    return d.log().find("login: 203.0.113.7 made 10 wrong tries") != std::string::npos;
  })) << d.log();
}

TEST(LoginBehindProxy, WithoutTrustedProxiesForwardedForIsIgnored) {
  DaemonHarness d;  // no http.trusted_proxies: every peer is the client
  const std::string code = portal_code(d, "oWx-spoofed");
  ASSERT_FALSE(code.empty());
  for (int i = 0; i < http::kLoginFailuresPerMinute; ++i)
    ASSERT_EQ(login(d, stray_code(code, i), fmt::format("203.0.113.{}", i)), "0003") << i;
  // A made-up header is no fresh budget: everything from 127.0.0.1 waits out the minute.
  EXPECT_EQ(login(d, code, "198.51.100.9"), "0005");
}

TEST(LoginCodeGuessing, ALiveCodeDiesAfterFiveWrongTriesFromDifferentClients) {
  DaemonHarness d(behind_proxy());
  const std::string code = portal_code(d, "oWx-target");
  ASSERT_EQ(code.size(), 8u) << code;
  // Five clients, one wrong try each against the code's slot: none is near its own limit.
  for (int i = 0; i < http::LoginCodes::kTriesPerCode; ++i) {
    std::string guess = code.substr(0, 3) + fmt::format("{:05}", i);
    if (guess == code) guess = code.substr(0, 3) + "99999";
    ASSERT_EQ(login(d, guess, fmt::format("203.0.113.{}", 20 + i)), "0003") << i;
  }
  EXPECT_EQ(login(d, code, "198.51.100.20"), "0003");  // the right code died with them
  EXPECT_EQ(sql_int(d.db(), "SELECT count(*) FROM login_code WHERE used = 1"), 0);
  EXPECT_TRUE(eventually([&] {
    return d.log().find("used up its 5 tries; the last wrong one came from 203.0.113.24") !=
           std::string::npos;
  })) << d.log();

  // Asking again gives a new code that works.
  const std::string fresh = portal_code(d, "oWx-target");
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(login(d, fresh, "198.51.100.20"), "0000");
}

TEST(LoginCodeGuessing, CodesAreEightDigitsAndComeFromFreeSlots) {
  DaemonHarness d;
  std::set<std::string> slots;
  for (int i = 0; i < 20; ++i) {
    std::string code = portal_code(d, "oWx-many-" + std::to_string(i));
    ASSERT_EQ(code.size(), 8u) << code;
    EXPECT_TRUE(slots.insert(code.substr(0, 3)).second) << code;  // one live code per slot
  }
}

TEST(WechatToken, ReadFromASecretFileTrimmedAndNeverLogged) {
  TempDir secrets;
  write_file(secrets.file("wechat_token"), "  file-token-4711\n");
  DaemonOptions o;
  o.config["auth.wechat_token"] = "";
  o.config["auth.wechat_token_file"] = secrets.file("wechat_token");
  DaemonHarness d(o);
  auto ok = d.request(
      "GET", kPortal + "?" + signed_query("file-token-4711", "1700000000", "n1") + "&echostr=e1");
  EXPECT_EQ(ok.body, "e1");
  auto inline_token = d.request(
      "GET", kPortal + "?" + signed_query(DaemonHarness::kWechatToken, "1700000000", "n1") +
                 "&echostr=e1");
  EXPECT_NE(inline_token.body, "e1");
  // Messages are signed with it too.
  auto reply = d.request("POST", kPortal + "?" + fresh_query("f1", 0, "file-token-4711"),
                         text_message("oWx-file", "登录"), {{"Content-Type", "text/xml"}});
  EXPECT_FALSE(code_in(reply.body).empty()) << reply.body;
  EXPECT_EQ(d.log().find("deprecated"), std::string::npos) << d.log();
  EXPECT_EQ(d.log().find("file-token-4711"), std::string::npos);
  EXPECT_EQ(d.cli({"check-config"}).exit_code, 0);
}

TEST(WechatToken, TheInlineKeyStillWorksButWarns) {
  DaemonHarness d;  // the harness still writes auth.wechat_token
  auto ok = d.request("GET", kPortal + "?" +
                                 signed_query(DaemonHarness::kWechatToken, "1700000000", "n2") +
                                 "&echostr=e2");
  EXPECT_EQ(ok.body, "e2");
  EXPECT_TRUE(eventually([&] {
    return d.log().find("auth.wechat_token is deprecated") != std::string::npos;
  })) << d.log();
  EXPECT_EQ(d.log().find(DaemonHarness::kWechatToken), std::string::npos);
}

TEST(LoginConfig, BadProxiesBothTokenKeysOrAMissingTokenFileAreConfigErrors) {
  DaemonOptions o;
  o.start = false;
  DaemonHarness d(o);
  TempDir secrets;
  write_file(secrets.file("wechat_token"), "t\n");

  auto bad_cidr = d.cli({"check-config"}, {{"CHATGLMD_HTTP_TRUSTED_PROXIES", "10.0.0.0/8, nginx"}});
  EXPECT_EQ(bad_cidr.exit_code, 2);
  EXPECT_NE(bad_cidr.err.find("http.trusted_proxies"), std::string::npos) << bad_cidr.err;
  EXPECT_NE(bad_cidr.err.find("'nginx'"), std::string::npos) << bad_cidr.err;
  EXPECT_EQ(d.cli({"migrate"}, {{"CHATGLMD_HTTP_TRUSTED_PROXIES", "10.0.0.0/33"}}).exit_code, 2);

  // The harness's INI sets auth.wechat_token: a token file as well is one too many.
  auto both =
      d.cli({"check-config"}, {{"CHATGLMD_AUTH_WECHAT_TOKEN_FILE", secrets.file("wechat_token")}});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("both set"), std::string::npos) << both.err;

  auto missing =
      d.cli({"check-config"}, {{"CHATGLMD_AUTH_WECHAT_TOKEN", ""},
                               {"CHATGLMD_AUTH_WECHAT_TOKEN_FILE", secrets.file("nope")}});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot read secret file"), std::string::npos) << missing.err;

  auto good = d.cli({"check-config"}, {{"CHATGLMD_HTTP_TRUSTED_PROXIES", "127.0.0.1, ::1/128"}});
  EXPECT_EQ(good.exit_code, 0) << good.err;
}

}  // namespace
}  // namespace chatglmd::testing
