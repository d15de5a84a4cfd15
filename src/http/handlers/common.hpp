#pragma once
// Small pieces every handler area uses: who is calling, and what time it is.
#include <optional>
#include <string>

#include "http/handlers/app_services.hpp"
#include "http/request.hpp"

namespace chatglmd::http {

// The token from `Authorization: <token>` or `Authorization: Bearer <token>`.
std::string bearer_token(const Request& req);
// The caller's openid when the token is valid now.
std::optional<std::string> authenticate(const Request& req, const AppServices& s);
core::UtcMs now_of(const AppServices& s);
// Answer for an endpoint whose service the daemon was built without.
Response not_configured(std::string_view what);
// chatglmd_limiter_full_total{limiter}: takes a limiter refused because its table was full of
// live windows. Null without a registry.
metrics::Counter* limiter_full_counter(const AppServices& s, std::string_view limiter);

}  // namespace chatglmd::http
