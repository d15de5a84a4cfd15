#include "llm/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>

namespace chatglmd::llm {

namespace json = boost::json;

std::string base64url_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (c == '+' || c == '/' || c == '=')
      return std::nullopt;  // not base64url
  }
  const std::size_t padding = (4 - standard.size() % 4) % 4;
  standard.append(padding, '=');
  std::string out(standard.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(standard.data()),
                                static_cast<int>(standard.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) -
             padding);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string jwt_sign_hs256(std::string_view header_json, std::string_view payload_json,
                           std::string_view secret) {
  std::string signing_input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  const std::string signature = base64url_encode(hmac_sha256(secret, signing_input));
  return signing_input + "." + signature;
}

JwtCheck jwt_verify_hs256(std::string_view token, std::string_view secret) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return {JwtError::Malformed, {}};
  auto header = base64url_decode(token.substr(0, first));
  auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(token.substr(second + 1));
  if (!header || !payload || !signature) return {JwtError::Malformed, {}};

  boost::system::error_code ec;
  auto header_value = json::parse(*header, ec);
  if (ec || !header_value.is_object()) return {JwtError::Malformed, {}};
  const auto* alg = header_value.as_object().if_contains("alg");
  // Only HS256: accepting "none" or another algorithm is the classic JWT forgery.
  if (!alg || !alg->is_string() || alg->as_string() != "HS256") return {JwtError::BadAlgorithm, {}};

  const std::string expected = hmac_sha256(secret, token.substr(0, second));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return {JwtError::BadSignature, {}};
  return {JwtError::None, std::move(*payload)};
}

std::string make_user_token(std::string_view openid, std::string_view secret, core::UtcMs now,
                            std::chrono::seconds ttl) {
  const std::int64_t iat = now.ms / 1000;
  json::object payload;
  payload["openId"] = openid;
  payload["sub"] = openid;
  payload["iat"] = iat;
  payload["exp"] = iat + ttl.count();
  return jwt_sign_hs256(R"({"alg":"HS256","typ":"JWT"})", json::serialize(payload), secret);
}

JwtError check_user_token(std::string_view token, std::string_view secret, core::UtcMs now,
                          std::string* openid) {
  auto check = jwt_verify_hs256(token, secret);
  if (!check.ok()) return check.error;
  boost::system::error_code ec;
  auto value = json::parse(check.payload_json, ec);
  if (ec || !value.is_object()) return JwtError::Malformed;
  const auto& claims = value.as_object();
  const auto* exp = claims.if_contains("exp");
  if (!exp || !exp->is_number()) return JwtError::MissingClaim;
  const double exp_seconds = exp->to_number<double>(ec);
  if (ec) return JwtError::Malformed;
  if (static_cast<double>(now.ms) / 1000.0 >= exp_seconds) return JwtError::Expired;
  const auto* id = claims.if_contains("openId");
  if (!id) id = claims.if_contains("sub");
  if (!id || !id->is_string() || id->as_string().empty()) return JwtError::MissingClaim;
  if (openid) *openid = std::string(id->as_string());
  return JwtError::None;
}

std::optional<std::string> verify_user_token(std::string_view token, std::string_view secret,
                                             core::UtcMs now) {
  std::string openid;
  if (check_user_token(token, secret, now, &openid) != JwtError::None) return std::nullopt;
  return openid;
}

}  // namespace chatglmd::llm
