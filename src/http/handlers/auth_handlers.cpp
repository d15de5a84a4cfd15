// WeChat official-account login: the account's server check, a text message answered with a
// login code, and the code exchanged for a user token.
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>

#include "http/client_address.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/login_codes.hpp"
#include "http/handlers/window_counter.hpp"
#include "http/wechat_xml.hpp"
#include "llm/jwt.hpp"
#include "store/store.hpp"

namespace chatglmd::http {

namespace {

std::string sha1_hex(std::string_view text) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

// WeChat's rule: sha1 of token, timestamp and nonce sorted as strings and concatenated. Compared
// in constant time: a compare that stops at the first difference tells a prober how many leading
// characters of its forged signature were right.
bool wechat_signature_ok(const std::string& token, const Form& q) {
  if (token.empty()) return false;
  std::array<std::string, 3> parts{token, q.get_or("timestamp"), q.get_or("nonce")};
  std::sort(parts.begin(), parts.end());
  std::string expected = sha1_hex(parts[0] + parts[1] + parts[2]);
  std::string given = q.get_or("signature");
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

// WeChat signs only token, timestamp and nonce, not the message, so a signed URL seen once (in a
// proxy log, say) could be replayed with another FromUserName to get someone else's login code.
// A message is accepted only with a fresh timestamp and a (timestamp, nonce) not seen before.
class WechatReplayGuard {
 public:
  // `shared`: the store's counters when several nodes share it, so a nonce one node took is
  // refused by the others too; null: remembered here.
  bool accept(std::string_view timestamp, std::string_view nonce, core::UtcMs now,
              store::SharedCounterRepository* shared) {
    std::int64_t seconds = 0;
    auto [end, ec] =
        std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), seconds);
    if (ec != std::errc() || end != timestamp.data() + timestamp.size()) return false;
    core::UtcMs sent{seconds * 1000};
    if (sent < now - kWechatFreshness || sent > now + kWechatFreshness) return false;
    const std::string key = std::string(timestamp) + "|" + std::string(nonce);
    // Once per window of twice the freshness: longer than the timestamp stays acceptable.
    if (shared) return shared->take("wechat_nonce", key, now, kWechatFreshness * 2, 1);
    std::lock_guard lock(mutex_);
    if (seen_.size() >= kMaxRemembered)
      std::erase_if(seen_, [&](const auto& kv) { return kv.second < now; });
    if (seen_.size() >= kMaxRemembered) return false;  // cannot prove it is new: refuse
    return seen_.emplace(key, sent + kWechatFreshness).second;
  }

 private:
  static constexpr std::size_t kMaxRemembered = 100'000;
  std::mutex mutex_;
  std::map<std::string, core::UtcMs> seen_;  // key -> when it can be forgotten
};

constexpr core::Millis kLoginFailureWindow{60'000};

}  // namespace

void register_auth_routes(Router& router, const AppServices& s) {
  router.add_sync("GET", "/api/v1/wx/portal/{appid}", [s](const Request& req) {
    if (!wechat_signature_ok(s.settings.wechat_token, req.query))
      return Response::text(200, "signature check failed");
    return Response::text(200, req.query.get_or("echostr"));
  });

  auto replays = std::make_shared<WechatReplayGuard>();
  auto codes = std::make_shared<LoginCodes>();
  router.add_blocking("POST", "/api/v1/wx/portal/{appid}", [s, replays, codes](const Request& req) {
    if (!wechat_signature_ok(s.settings.wechat_token, req.query))
      return Response::text(200, "signature check failed");
    if (!replays->accept(req.query.get_or("timestamp"), req.query.get_or("nonce"), now_of(s),
                         s.store ? s.store->shared_counters() : nullptr))
      return Response::text(200, "stale or repeated message");
    if (!s.store) return Response::text(200, "success");
    std::string from = xml_field(req.body, "FromUserName");  // the user's openid
    std::string to = xml_field(req.body, "ToUserName");
    if (from.empty()) return Response::text(200, "success");  // WeChat's "no reply" answer
    core::UtcMs now = now_of(s);
    auto expires = now + kLoginCodeTtl;
    std::string code = codes
                           ->issue(from, now, expires,
                                   [&](const std::string& c) {
                                     return s.store->logins().save(c, from, expires, now);
                                   })
                           .value_or("");
    if (code.empty())
      spdlog::warn(
          "no login code for a WeChat message: all {} code slots are live, or the "
          "random source or the store failed",
          LoginCodes::kSlots);
    std::string text =
        code.empty() ? "登录码生成失败，请稍后再试" : "您的验证码为：" + code + "，有效期3分钟！";
    std::string xml = "<xml><ToUserName>" + xml_cdata(from) + "</ToUserName><FromUserName>" +
                      xml_cdata(to) + "</FromUserName><CreateTime>" +
                      std::to_string(now.ms / 1000) + "</CreateTime><MsgType>" + xml_cdata("text") +
                      "</MsgType><Content>" + xml_cdata(text) + "</Content></xml>";
    return Response::text(200, std::move(xml), "application/xml; charset=utf-8");
  });

  auto failures = std::make_shared<WindowCounter>(
      kLoginFailureWindow, s.settings.login_limiter_keys, limiter_full_counter(s, "login"));
  router.add_blocking("POST", "/api/v1/auth/login", [s, failures, codes](const Request& req) {
    if (!s.store) return not_configured("the store");
    auto form = req.form();
    std::string code = form ? form->get_or("code") : "";
    if (code.empty()) code = req.query.get_or("code");
    if (code.empty()) return envelope(code::bad_parameter, "code is required");
    core::UtcMs now = now_of(s);
    // Every attempt takes a slot before the lookup and a right code gives it back: so once the
    // limit is hit even a right code is refused (guessing cannot go on until the minute passes),
    // and parallel attempts cannot slip more lookups past the limit than it allows.
    std::string address = limit_key(req.client);
    // Counted once for all nodes when the store is shared by several (PostgreSQL).
    auto* shared = s.store->shared_counters();
    // The start of the window that counted this try: a right code gives the try back to it.
    const std::optional<core::UtcMs> took =
        shared ? shared->take_counted("login_fail", address, now, kLoginFailureWindow,
                                      kLoginFailuresPerMinute)
               : failures->take_counted(address, now, kLoginFailuresPerMinute);
    if (!took) return envelope(code::rate_limited, "too many attempts, try again in a minute");
    auto wrong = [&] {
      if (!shared && failures->count(address, now) == kLoginFailuresPerMinute)
        spdlog::warn("login: {} made {} wrong tries within a minute; logins from {} wait",
                     req.client, kLoginFailuresPerMinute, address);
      return envelope(code::not_authorised, "login code is wrong or expired");
    };
    // The code's own budget, taken before the lookup for the same reason.
    if (!codes->take_try(code, now)) return wrong();
    auto openid = s.store->logins().redeem(code, now);
    if (!openid) {
      if (codes->tries_left(code, now) == 0)
        spdlog::info("a login code used up its {} tries; the last wrong one came from {}",
                     LoginCodes::kTriesPerCode, req.client);
      return wrong();
    }
    codes->redeemed(code, *openid);
    if (shared) {
      shared->give_back("login_fail", address, *took);
    } else {
      failures->give_back(address, *took);
    }
    return envelope_ok(boost::json::string(
        llm::make_user_token(*openid, s.settings.token_secret, now, s.settings.token_ttl)));
  });
}

}  // namespace chatglmd::http
