#include "http/cors.hpp"

#include <algorithm>

namespace chatglmd::http {

bool CorsPolicy::allows(std::string_view origin) const {
  if (origin.empty()) return false;
  return std::any_of(origins_.begin(), origins_.end(),
                     [&](const std::string& o) { return o == "*" || o == origin; });
}

Headers CorsPolicy::response_headers(std::string_view origin) const {
  if (!allows(origin)) return {};
  // Echo the origin rather than "*" so that requests with Authorization work; caches must key on
  // it.
  return {{"Access-Control-Allow-Origin", std::string(origin)}, {"Vary", "Origin"}};
}

Response CorsPolicy::preflight(std::string_view origin, std::string_view requested_headers) const {
  if (!allows(origin)) {
    Response r = Response::text(403, "origin not allowed\n");
    r.headers.emplace_back("Vary", "Origin");
    return r;
  }
  Response r = Response::text(204, "");
  r.content_type.clear();
  r.headers = response_headers(origin);
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  r.headers.emplace_back("Access-Control-Allow-Headers",
                         requested_headers.empty() ? std::string("Authorization, Content-Type")
                                                   : std::string(requested_headers));
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

}  // namespace chatglmd::http
