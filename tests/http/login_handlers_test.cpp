// The login endpoints over real sockets with a real SQLite store and a manual clock: codes come
// from the WeChat portal as a user gets them, and limits are counted per client address.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <regex>

#include "http/handlers/app_services.hpp"
#include "http/handlers/login_codes.hpp"
#include "metrics/metrics.hpp"
#include "socket_client.hpp"
#include "store/sqlite_store.hpp"
#include "support/ports.hpp"
#include "support/temp_dir.hpp"
#include "test_server.hpp"

namespace chatglmd::http {
namespace {

using chatglmd::testing::raw_http;
using testing::body_of;
using testing::TestServer;

constexpr core::UtcMs kStart{1'700'000'000'000};
constexpr const char* kWechatToken = "wxtoken";

std::string sha1_hex(const std::string& text) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> d{};
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  std::string out;
  for (unsigned char c : d) out += fmt::format("{:02x}", c);
  return out;
}

class LoginHandlers : public ::testing::Test {
 protected:
  LoginHandlers() {
    auto opened = store::open_sqlite_store({dir.file("t.db")});
    EXPECT_EQ(opened.error, "");
    store = std::move(opened.store);
  }

  AppServices services() {
    AppServices s;
    s.store = store.get();
    s.clock = &clock;
    s.registry = &registry;
    s.settings.token_secret = "test-secret";
    s.settings.wechat_token = kWechatToken;
    return s;
  }

  // The auth routes behind a front that trusts `proxies`.
  std::unique_ptr<TestServer> serve(const AppServices& s, std::vector<std::string> proxies = {}) {
    Router r;
    register_auth_routes(r, s);
    ServerConfig config;
    std::string error;
    config.trusted_proxies = *TrustedProxies::parse(proxies, error);
    return std::make_unique<TestServer>(std::move(r), config);
  }

  // A login code the way a WeChat user gets one: a signed text message to the portal.
  std::string code_for(int port, const std::string& openid) {
    std::string timestamp = std::to_string(clock.now().ms / 1000);
    std::string nonce = "n" + std::to_string(++nonces);
    std::array<std::string, 3> parts{kWechatToken, timestamp, nonce};
    std::sort(parts.begin(), parts.end());
    std::string body = "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[" +
                       openid + "]]></FromUserName><Content><![CDATA[login]]></Content></xml>";
    std::string reply = body_of(raw_http(
        port, fmt::format("POST /api/v1/wx/portal/wx1?signature={}&timestamp={}&nonce={} "
                          "HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: text/xml\r\n"
                          "Content-Length: {}\r\n\r\n{}",
                          sha1_hex(parts[0] + parts[1] + parts[2]), timestamp, nonce, body.size(),
                          body)));
    std::smatch m;
    if (!std::regex_search(reply, m, std::regex("验证码为：([0-9]{8})"))) {
      ADD_FAILURE() << "no code in " << reply;
      return "";
    }
    return m[1];
  }

  // The envelope code of a login from `forwarded_for` (no header when empty).
  static std::string login(int port, const std::string& code,
                           const std::string& forwarded_for = "") {
    std::string body = "code=" + code;
    std::string head =
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n";
    if (!forwarded_for.empty()) head += "X-Forwarded-For: " + forwarded_for + "\r\n";
    head += fmt::format("Content-Length: {}\r\n\r\n", body.size());
    auto json = boost::json::parse(body_of(raw_http(port, head + body)));
    return std::string(json.at("code").as_string());
  }

  // A code of the right shape that is not `code`, in the same slot when `same_slot`.
  static std::string wrong_code(const std::string& code, int n, bool same_slot = true) {
    std::string secret = fmt::format("{:05}", n);
    if (secret == code.substr(3)) secret = fmt::format("{:05}", n + 50'000);
    std::string slot = code.substr(0, 3);
    if (!same_slot) slot = slot == "999" ? "998" : "999";
    return slot + secret;
  }

  double limiter_full(const std::string& limiter) {
    return registry
        .counter("chatglmd_limiter_full_total",
                 "Requests refused because a limiter was full of live windows, by limiter.",
                 {"limiter"})
        .labels({limiter})
        .value();
  }

  chatglmd::testing::TempDir dir;
  std::unique_ptr<store::Store> store;
  core::ManualClock clock{kStart};
  metrics::Registry registry;
  int nonces = 0;
};

TEST_F(LoginHandlers, WrongCodesFromOneAddressWaitOutTheMinute) {
  auto srv = serve(services());
  int port = srv->port();
  std::string code = code_for(port, "user-limit");
  // Wrong codes in other slots: this test is about the address budget, not the code's.
  for (int i = 0; i < kLoginFailuresPerMinute; ++i)
    EXPECT_EQ(login(port, wrong_code(code, i, false)), "0003") << i;
  EXPECT_EQ(login(port, wrong_code(code, 99, false)), "0005");
  EXPECT_EQ(login(port, code), "0005");  // the right code waits too: guessing gains nothing
  EXPECT_EQ(login(port, ""), "0002");    // a missing code is not an attempt

  clock.advance(std::chrono::seconds(59));
  EXPECT_EQ(login(port, code), "0005");
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(login(port, code), "0000");  // refused attempts did not use the code up

  // A right code does not use up the budget: the next minute still has all its wrong tries.
  code = code_for(port, "user-limit");
  for (int i = 0; i < kLoginFailuresPerMinute - 1; ++i)
    EXPECT_EQ(login(port, wrong_code(code, i, false)), "0003") << i;
  EXPECT_EQ(login(port, code), "0000");
  EXPECT_EQ(login(port, "99999999"), "0003");
  EXPECT_EQ(login(port, "99999998"), "0005");
}

TEST_F(LoginHandlers, ACodeDiesAfterFiveWrongTriesFromAnyAddresses) {
  auto srv = serve(services(), {"127.0.0.1"});
  int port = srv->port();
  std::string code = code_for(port, "victim");
  // Five clients, one wrong try each: no address is near its own limit.
  for (int i = 0; i < LoginCodes::kTriesPerCode; ++i)
    EXPECT_EQ(login(port, wrong_code(code, i), fmt::format("203.0.113.{}", i + 1)), "0003");
  EXPECT_EQ(login(port, code, "198.51.100.1"), "0003");  // dead, even for the right code
  // The user asks again and the new code works.
  std::string fresh = code_for(port, "victim");
  EXPECT_EQ(login(port, fresh, "198.51.100.1"), "0000");

  // Four wrong tries leave the fifth to the right code.
  std::string other = code_for(port, "lucky");
  for (int i = 0; i < LoginCodes::kTriesPerCode - 1; ++i)
    EXPECT_EQ(login(port, wrong_code(other, i), fmt::format("203.0.113.{}", i + 10)), "0003");
  EXPECT_EQ(login(port, other, "198.51.100.2"), "0000");
}

TEST_F(LoginHandlers, IPv6ClientsShareTheBudgetOfTheirSlash64) {
  auto srv = serve(services(), {"127.0.0.1"});
  int port = srv->port();
  for (int i = 0; i < kLoginFailuresPerMinute; ++i)
    EXPECT_EQ(login(port, fmt::format("999{:05}", i), fmt::format("2001:db8:1:2::{:x}", i + 1)),
              "0003");
  // Another address of the same /64 is the same subscriber.
  EXPECT_EQ(login(port, "99900099", "[2001:db8:1:2:ffff::9]:4431"), "0005");
  // The neighbouring /64 is someone else.
  EXPECT_EQ(login(port, "99900099", "2001:db8:1:3::1"), "0003");
}

TEST_F(LoginHandlers, AFullLimiterRefusesNewAddressesAndCountsIt) {
  auto s = services();
  s.settings.login_limiter_keys = 3;
  auto srv = serve(s, {"127.0.0.1"});
  int port = srv->port();
  std::string code = code_for(port, "newcomer");
  EXPECT_EQ(limiter_full("login"), 0);
  for (int i = 1; i <= 3; ++i)
    EXPECT_EQ(login(port, "99900001", fmt::format("203.0.113.{}", i)), "0003");
  // Three live windows fill it: a fourth address cannot be counted, so it is not let in.
  EXPECT_EQ(login(port, code, "198.51.100.1"), "0005");
  EXPECT_EQ(limiter_full("login"), 1);
  // Once the windows end there is room again, and the code is still good.
  clock.advance(std::chrono::minutes(1));
  EXPECT_EQ(login(port, code, "198.51.100.1"), "0000");
  EXPECT_EQ(limiter_full("login"), 1);
}

}  // namespace
}  // namespace chatglmd::http
