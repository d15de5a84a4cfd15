// Our user tokens and the Zhipu API token (both HS256 JWTs). Properties: base64url round-trips,
// a token we mint verifies to what went in, and any other text is refused without a crash.
#include <boost/json/parse.hpp>

#include "fuzz/fuzz_support.hpp"
#include "llm/jwt.hpp"
#include "llm/zhipu_token.hpp"

using namespace chatglmd;
namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view secret = "fuzz-secret-0123456789abcdef";
  const core::UtcMs now{1704135845000LL};
  std::string_view text = fuzz::as_text(data, size);

  // Whatever arrives as a bearer token.
  std::string openid;
  auto verdict = llm::check_user_token(text, secret, now, &openid);
  if (verdict == llm::JwtError::None) FUZZ_CHECK(!openid.empty());
  (void)llm::jwt_verify_hs256(text, secret);

  // base64url both ways.
  auto decoded = llm::base64url_decode(text);
  if (decoded) FUZZ_CHECK(llm::base64url_decode(llm::base64url_encode(*decoded)) == decoded);
  FUZZ_CHECK(llm::base64url_decode(llm::base64url_encode(text)) == std::string(text));

  // The input as an openid: minted, it verifies to itself and expires. Openids are WeChat's ASCII
  // ids; a token minted for bytes that are no UTF-8 is refused as Malformed, which is safe.
  if (!text.empty() && fuzz::valid_utf8(text)) {
    auto token = llm::make_user_token(text, secret, now, std::chrono::seconds(3600));
    FUZZ_CHECK(llm::verify_user_token(token, secret, now) == std::string(text));
    FUZZ_CHECK(!llm::verify_user_token(token, secret, now + core::Millis(3'601'000)));
    FUZZ_CHECK(!llm::verify_user_token(token, "another-secret", now));
  }

  // The input as a Zhipu API key "<id>.<secret>": the token names the id and verifies. (A key
  // that is no UTF-8 gives a payload no JSON parser reads; the upstream refuses it.)
  auto key = fuzz::valid_utf8(text) ? llm::ZhipuApiKey::parse(text) : std::nullopt;
  if (key) {
    auto token = llm::make_zhipu_token(*key, now, core::Millis(1'800'000));
    auto check = llm::jwt_verify_hs256(token, key->secret);
    FUZZ_CHECK(check.ok());
    boost::system::error_code ec;
    auto payload = json::parse(check.payload_json, ec);
    FUZZ_CHECK(!ec && payload.is_object());
    const auto* api_key = payload.as_object().if_contains("api_key");
    FUZZ_CHECK(api_key && api_key->is_string() && api_key->as_string() == key->id);
  }
  return 0;
}
