#pragma once
// The Zhipu API token (protocols.md B2/B6): an HS256 JWT minted from the "<id>.<secret>" API key,
// times in MILLISECONDS, cached and replaced before it can reach the upstream stale.
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

namespace chatglmd::llm {

struct ZhipuApiKey {
  std::string id;
  std::string secret;
  // Split on the first '.'; nullopt when either side is empty.
  static std::optional<ZhipuApiKey> parse(std::string_view text);
};

// Header {"alg":"HS256","sign_type":"SIGN"}, payload {"api_key","exp","timestamp"} in that order.
std::string make_zhipu_token(const ZhipuApiKey& key, core::UtcMs now, core::Millis ttl);

class ZhipuTokenCache {
 public:
  struct Options {
    core::Millis ttl{30 * 60 * 1000};        // DESIGN [chatglm] token_ttl default 30m
    core::Millis refresh_margin{60 * 1000};  // replaced when less than this is left
  };
  ZhipuTokenCache(ZhipuApiKey key, const core::Clock& clock, Options options);
  ZhipuTokenCache(ZhipuApiKey key, const core::Clock& clock)
      : ZhipuTokenCache(std::move(key), clock, Options{}) {}

  // A token valid for at least refresh_margin from now; thread-safe.
  std::string token();
  core::UtcMs expires_at();

 private:
  ZhipuApiKey key_;
  const core::Clock& clock_;
  Options options_;
  std::mutex mutex_;
  std::string cached_;
  core::UtcMs expires_{0};
};

}  // namespace chatglmd::llm
