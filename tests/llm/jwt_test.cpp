#include "llm/jwt.hpp"

#include <gtest/gtest.h>

#include <random>

#include "llm/zhipu_token.hpp"

namespace chatglmd::llm {
namespace {

using namespace std::chrono_literals;

// protocols.md B6, computed with node crypto and checked with openssl and jsonwebtoken.
constexpr const char* kApiKey = "abcdefgh12345678.0123456789abcdef";
constexpr const char* kPayload =
    R"({"api_key":"abcdefgh12345678","exp":1700000210000,"timestamp":1700000000000})";
constexpr const char* kVectorSignType =
    "eyJhbGciOiJIUzI1NiIsInNpZ25fdHlwZSI6IlNJR04ifQ."
    "eyJhcGlfa2V5IjoiYWJjZGVmZ2gxMjM0NTY3OCIsImV4cCI6MTcwMDAwMDIxMDAwMCwidGltZXN0YW1wIjoxNzAwMDAwMD"
    "AwMDAwfQ."
    "neF6noPB_Bur7Ab5kxv5mgvr4KoQvpxHaff1H4iua6U";
constexpr const char* kVectorPyJwt =
    "eyJhbGciOiJIUzI1NiIsInNpZ25fdHlwZSI6IlNJR04iLCJ0eXAiOiJKV1QifQ."
    "eyJhcGlfa2V5IjoiYWJjZGVmZ2gxMjM0NTY3OCIsImV4cCI6MTcwMDAwMDIxMDAwMCwidGltZXN0YW1wIjoxNzAwMDAwMD"
    "AwMDAwfQ."
    "cx-Rgk4SqgbWDpJhyOm6H6btg6QHIsOcvjf8kslLw7M";

TEST(JwtTest, ReproducesZhipuVectors) {
  EXPECT_EQ(jwt_sign_hs256(R"({"alg":"HS256","sign_type":"SIGN"})", kPayload, "0123456789abcdef"),
            kVectorSignType);
  EXPECT_EQ(jwt_sign_hs256(R"({"alg":"HS256","sign_type":"SIGN","typ":"JWT"})", kPayload,
                           "0123456789abcdef"),
            kVectorPyJwt);
}

TEST(JwtTest, ZhipuTokenFromApiKeyMatchesVector) {
  auto key = ZhipuApiKey::parse(kApiKey);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->id, "abcdefgh12345678");
  EXPECT_EQ(key->secret, "0123456789abcdef");
  EXPECT_EQ(make_zhipu_token(*key, core::UtcMs{1700000000000}, 210s), kVectorSignType);
}

TEST(JwtTest, ApiKeySplitsOnFirstDot) {
  auto key = ZhipuApiKey::parse("id.sec.ret");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->id, "id");
  EXPECT_EQ(key->secret, "sec.ret");
  EXPECT_FALSE(ZhipuApiKey::parse("nodot"));
  EXPECT_FALSE(ZhipuApiKey::parse(".secret"));
  EXPECT_FALSE(ZhipuApiKey::parse("id."));
}

TEST(JwtTest, VerifiesVectorsAndRejectsTampering) {
  auto check = jwt_verify_hs256(kVectorPyJwt, "0123456789abcdef");
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check.payload_json, kPayload);
  EXPECT_EQ(jwt_verify_hs256(kVectorPyJwt, "wrong").error, JwtError::BadSignature);
  std::string tampered = kVectorSignType;
  tampered[60] = tampered[60] == 'A' ? 'B' : 'A';
  EXPECT_EQ(jwt_verify_hs256(tampered, "0123456789abcdef").error, JwtError::BadSignature);
  EXPECT_EQ(jwt_verify_hs256("a.b", "k").error, JwtError::Malformed);
  EXPECT_EQ(jwt_verify_hs256("a.b.c.d", "k").error, JwtError::Malformed);
  EXPECT_EQ(jwt_verify_hs256("!!.??.##", "k").error, JwtError::Malformed);
}

TEST(JwtTest, Base64UrlRoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    auto encoded = base64url_encode(bytes);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded) << i;
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(0xF0 + i));
  }
  EXPECT_FALSE(base64url_decode("abc="));
  EXPECT_FALSE(base64url_decode("a"));
}

TEST(UserTokenTest, RoundTripAndExpiry) {
  const core::UtcMs now{1700000000123};
  auto token = make_user_token("oUser-1", "s3cret", now, std::chrono::hours(24 * 7));
  auto openid = verify_user_token(token, "s3cret", now);
  ASSERT_TRUE(openid);
  EXPECT_EQ(*openid, "oUser-1");
  EXPECT_TRUE(verify_user_token(token, "s3cret", now + std::chrono::hours(24 * 7) - 2s));
  EXPECT_FALSE(verify_user_token(token, "s3cret", now + std::chrono::hours(24 * 7) + 1s));
  EXPECT_EQ(check_user_token(token, "s3cret", now + std::chrono::hours(24 * 8), nullptr),
            JwtError::Expired);
  EXPECT_FALSE(verify_user_token(token, "other", now));
}

TEST(UserTokenTest, ClaimsAreInSeconds) {
  const core::UtcMs now{1700000000999};
  auto token = make_user_token("u", "k", now, 60s);
  auto check = jwt_verify_hs256(token, "k");
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check.payload_json, R"({"openId":"u","sub":"u","iat":1700000000,"exp":1700000060})");
}

TEST(UserTokenTest, RejectsOtherAlgorithmsAndMissingClaims) {
  const core::UtcMs now{1700000000000};
  // alg "none" with an empty signature: the classic forgery.
  const std::string payload = base64url_encode(R"({"openId":"u","exp":1800000000})");
  EXPECT_EQ(check_user_token(base64url_encode(R"({"alg":"none"})") + "." + payload + ".", "k", now,
                             nullptr),
            JwtError::BadAlgorithm);
  EXPECT_EQ(check_user_token(
                jwt_sign_hs256(R"({"alg":"HS512"})", R"({"openId":"u","exp":1800000000})", "k"),
                "k", now, nullptr),
            JwtError::BadAlgorithm);
  EXPECT_EQ(check_user_token(jwt_sign_hs256(R"({"alg":"HS256"})", R"({"openId":"u"})", "k"), "k",
                             now, nullptr),
            JwtError::MissingClaim);
  EXPECT_EQ(check_user_token(jwt_sign_hs256(R"({"alg":"HS256"})", R"({"exp":1800000000})", "k"),
                             "k", now, nullptr),
            JwtError::MissingClaim);
  EXPECT_EQ(
      check_user_token(jwt_sign_hs256(R"({"alg":"HS256"})", "not json", "k"), "k", now, nullptr),
      JwtError::Malformed);
  std::string openid;
  EXPECT_EQ(
      check_user_token(jwt_sign_hs256(R"({"alg":"HS256"})", R"({"sub":"s","exp":1800000000})", "k"),
                       "k", now, &openid),
      JwtError::None);
  EXPECT_EQ(openid, "s");
}

// Whatever is done to a token, the only ones accepted carry the signed header and payload byte
// for byte: no change of alg, claims or segment boundaries gets past the signature, and nothing
// crashes on the way (padding, whitespace, dots, bytes that are not base64url).
TEST(UserTokenTest, MutatedTokensNeverCarryAnotherIdentity) {
  const core::UtcMs now{1700000000000};
  const std::string token = make_user_token("openid-1", "secret", now, 3600s);
  const std::string signed_part = token.substr(0, token.rfind('.'));
  const std::string alphabet = "AZaz09-_+/=. \t\r\n\x80{}\"";
  std::mt19937 rng(99);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string t = token;
    for (int steps = 1 + static_cast<int>(rng() % 3); steps > 0; --steps) {
      const std::size_t at = rng() % (t.size() + 1);
      switch (rng() % 4) {
        case 0:
          if (at < t.size()) t[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          t.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 2:
          t.erase(at, 1 + rng() % 4);
          break;
        case 3:
          t.insert(at, t.substr(rng() % t.size(), rng() % 8));
          break;
      }
    }
    std::string openid;
    if (check_user_token(t, "secret", now, &openid) != JwtError::None) continue;
    ++accepted;
    ASSERT_EQ(openid, "openid-1") << t;
    ASSERT_EQ(t.substr(0, t.rfind('.')), signed_part) << t;
  }
  // A few mutations are harmless (the same bits spelt differently); most must be refused.
  EXPECT_LT(accepted, 2000);
}

TEST(JwtTest, Base64UrlDecodeOfArbitraryTextNeverBreaks) {
  const std::string alphabet = "AZaz09-_+/= \t\n\x80";
  std::mt19937 rng(5);
  for (int round = 0; round < 20000; ++round) {
    std::string text(rng() % 12, 'A');
    for (char& c : text) c = alphabet[rng() % alphabet.size()];
    auto decoded = base64url_decode(text);
    if (decoded) {
      EXPECT_LE(decoded->size(), text.size() * 3 / 4 + 1) << text;
    }
  }
}

}  // namespace
}  // namespace chatglmd::llm
