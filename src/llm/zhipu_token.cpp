#include "llm/zhipu_token.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "llm/jwt.hpp"

namespace chatglmd::llm {

std::optional<ZhipuApiKey> ZhipuApiKey::parse(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) return std::nullopt;
  return ZhipuApiKey{std::string(text.substr(0, dot)), std::string(text.substr(dot + 1))};
}

std::string make_zhipu_token(const ZhipuApiKey& key, core::UtcMs now, core::Millis ttl) {
  // Written by hand because the byte order of the payload is part of the B6 vector.
  const std::string payload =
      fmt::format(R"({{"api_key":{},"exp":{},"timestamp":{}}})",
                  boost::json::serialize(boost::json::string(key.id)), (now + ttl).ms, now.ms);
  return jwt_sign_hs256(R"({"alg":"HS256","sign_type":"SIGN"})", payload, key.secret);
}

ZhipuTokenCache::ZhipuTokenCache(ZhipuApiKey key, const core::Clock& clock, Options options)
    : key_(std::move(key)), clock_(clock), options_(options) {}

std::string ZhipuTokenCache::token() {
  std::lock_guard lock(mutex_);
  const core::UtcMs now = clock_.now();
  if (cached_.empty() || expires_ - now < options_.refresh_margin) {
    cached_ = make_zhipu_token(key_, now, options_.ttl);
    expires_ = now + options_.ttl;
  }
  return cached_;
}

core::UtcMs ZhipuTokenCache::expires_at() {
  std::lock_guard lock(mutex_);
  return expires_;
}

}  // namespace chatglmd::llm
