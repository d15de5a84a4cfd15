#pragma once
// HS256 JSON Web Tokens: the ChatGLM API token and our own user tokens share these helpers.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

namespace chatglmd::llm {

std::string base64url_encode(std::string_view bytes);  // no padding
std::optional<std::string> base64url_decode(std::string_view text);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes

// header_json and payload_json are signed byte for byte as given (vectors depend on key order).
std::string jwt_sign_hs256(std::string_view header_json, std::string_view payload_json,
                           std::string_view secret);

enum class JwtError { None, Malformed, BadAlgorithm, BadSignature, Expired, MissingClaim };

struct JwtCheck {
  JwtError error = JwtError::None;
  std::string payload_json;  // decoded payload, set when the signature is good
  bool ok() const { return error == JwtError::None; }
};

// Checks shape, header alg == HS256 and the signature; claims are the caller's business.
JwtCheck jwt_verify_hs256(std::string_view token, std::string_view secret);

// Our user tokens (DESIGN "User auth"): claims openId, sub, iat, exp, times in seconds.
std::string make_user_token(std::string_view openid, std::string_view secret, core::UtcMs now,
                            std::chrono::seconds ttl);
// The openid when the token is ours, well formed and not expired at `now`.
std::optional<std::string> verify_user_token(std::string_view token, std::string_view secret,
                                             core::UtcMs now);
// Same, with the reason when refused (for logs and tests).
JwtError check_user_token(std::string_view token, std::string_view secret, core::UtcMs now,
                          std::string* openid);

}  // namespace chatglmd::llm
