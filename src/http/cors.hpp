#pragma once
// CORS for browsers calling from another origin: preflight answers and the allow-origin echo.
#include <string>
#include <string_view>
#include <vector>

#include "http/response.hpp"

namespace chatglmd::http {

class CorsPolicy {
 public:
  explicit CorsPolicy(std::vector<std::string> origins) : origins_(std::move(origins)) {}
  bool allows(std::string_view origin) const;
  bool enabled() const { return !origins_.empty(); }
  // Headers for an actual response to a request from `origin` (none when not allowed).
  Headers response_headers(std::string_view origin) const;
  // The answer to an OPTIONS preflight: 204 with the allowances, 403 for a foreign origin.
  Response preflight(std::string_view origin, std::string_view requested_headers) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace chatglmd::http
