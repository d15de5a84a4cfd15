#include "http/handlers/common.hpp"

#include <strings.h>

#include "llm/jwt.hpp"
#include "metrics/metrics.hpp"

namespace chatglmd::http {

std::string bearer_token(const Request& req) {
  std::string_view h = req.header("Authorization");
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  if (h.size() > 7 && ::strncasecmp(h.data(), "Bearer ", 7) == 0) h.remove_prefix(7);
  while (!h.empty() && (h.front() == ' ')) h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ')) h.remove_suffix(1);
  return std::string(h);
}

core::UtcMs now_of(const AppServices& s) {
  static const core::SystemClock system;
  return (s.clock ? s.clock : &system)->now();
}

std::optional<std::string> authenticate(const Request& req, const AppServices& s) {
  std::string token = bearer_token(req);
  if (token.empty() || s.settings.token_secret.empty()) return std::nullopt;
  return llm::verify_user_token(token, s.settings.token_secret, now_of(s));
}

Response not_configured(std::string_view what) {
  return envelope(code::unknown_error, std::string(what) + " is not configured on this server");
}

metrics::Counter* limiter_full_counter(const AppServices& s, std::string_view limiter) {
  if (!s.registry) return nullptr;
  return &s.registry
              ->counter("chatglmd_limiter_full_total",
                        "Requests refused because a limiter was full of live windows, by limiter.",
                        {"limiter"})
              .labels({limiter});
}

}  // namespace chatglmd::http
