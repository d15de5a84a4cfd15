#pragma once
// What WeChat sends the portal, for the daemon's login tests: signed URLs, text messages, and
// the login code read back from the reply.
#include <fmt/format.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <regex>
#include <string>

#include "support/daemon_harness.hpp"

namespace chatglmd::testing {

inline const std::string kPortal = "/api/v1/wx/portal/wx1234567890";

inline std::string sha1_hex(const std::string& text) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> d{};
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  std::string out;
  for (unsigned char c : d) out += fmt::format("{:02x}", c);
  return out;
}

// What WeChat puts on the URL: sha1 of token, timestamp and nonce sorted and joined.
inline std::string signed_query(const std::string& token, const std::string& timestamp,
                                const std::string& nonce) {
  std::array<std::string, 3> parts{token, timestamp, nonce};
  std::sort(parts.begin(), parts.end());
  return "signature=" + sha1_hex(parts[0] + parts[1] + parts[2]) + "&timestamp=" + timestamp +
         "&nonce=" + nonce;
}

// A message as WeChat sends it now: the daemon takes only fresh timestamps, each nonce once.
inline std::string fresh_query(const std::string& nonce, long offset_seconds = 0,
                               const std::string& token = DaemonHarness::kWechatToken) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count() +
             offset_seconds;
  return signed_query(token, std::to_string(now), nonce);
}

inline std::string text_message(const std::string& openid, const std::string& content) {
  return "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[" + openid +
         "]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
         "<Content><![CDATA[" +
         content + "]]></Content><MsgId>1</MsgId></xml>";
}

// The code in the reply text, or "" when there is none.
inline std::string code_in(const std::string& reply) {
  std::smatch m;
  if (std::regex_search(reply, m, std::regex("<Content><!\\[CDATA\\[[^\\]]*?([0-9]{4,8})")))
    return m[1];
  return "";
}

// A login code for openid, asked for the way a user does (a fresh nonce per call).
inline std::string portal_code(const DaemonHarness& d, const std::string& openid) {
  static int nonces = 0;
  auto reply = d.request("POST", kPortal + "?" + fresh_query("pc" + std::to_string(++nonces)),
                         text_message(openid, "登录"), {{"Content-Type", "text/xml"}});
  return code_in(reply.body);
}

}  // namespace chatglmd::testing
