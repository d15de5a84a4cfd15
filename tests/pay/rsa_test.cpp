#include "pay/rsa.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "alipay_vectors.hpp"
#include "test_keys.hpp"

namespace chatglmd::pay {
namespace {

using test::key_text;

// The body of a PEM file as one bare base64 line, as the Alipay console shows keys.
std::string bare(const std::string& pem) {
  std::string out;
  std::size_t pos = 0;
  while (pos < pem.size()) {
    std::size_t end = pem.find('\n', pos);
    if (end == std::string::npos) end = pem.size();
    std::string line = pem.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("-----", 0) != 0) out += line;
    pos = end + 1;
  }
  return out;
}

TEST(RsaSigner, AllPrivateKeyFormsGiveTheVectorSignature) {
  const std::vector<std::string> forms = {
      key_text("app_pkcs1.pem"), key_text("app_pkcs8.pem"), bare(key_text("app_pkcs1.pem")),
      bare(key_text("app_pkcs8.pem")), "  \n" + bare(key_text("app_pkcs8.pem")) + "\n\n"};
  for (const auto& form : forms) {
    auto s = RsaSigner::from_text(form);
    ASSERT_TRUE(s.has_value()) << form.substr(0, 40);
    EXPECT_EQ(s->sign(vectors::kV1SignContent), vectors::kV1Sign);
  }
}

TEST(RsaVerifier, PemAndBarePublicKeysVerifyVector1) {
  auto pem = RsaVerifier::from_text(key_text("app_pub.pem"));
  auto bare_key = RsaVerifier::from_text(vectors::kAppPubBare);
  ASSERT_TRUE(pem && bare_key);
  EXPECT_TRUE(pem->verify(vectors::kV1SignContent, vectors::kV1Sign));
  EXPECT_TRUE(bare_key->verify(vectors::kV1SignContent, vectors::kV1Sign));
  EXPECT_EQ(bare(key_text("app_pub.pem")), vectors::kAppPubBare);
}

TEST(RsaVerifier, RejectsAlteredDataWrongKeyAndGarbageSignatures) {
  auto app = RsaVerifier::from_text(vectors::kAppPubBare);
  auto ali = RsaVerifier::from_text(vectors::kAliPubBare);
  ASSERT_TRUE(app && ali);
  std::string altered(vectors::kV1SignContent);
  altered.replace(altered.find("88.88"), 5, "88.89");
  EXPECT_FALSE(app->verify(altered, vectors::kV1Sign));
  EXPECT_FALSE(ali->verify(vectors::kV1SignContent, vectors::kV1Sign));
  EXPECT_FALSE(app->verify(vectors::kV1SignContent, ""));
  EXPECT_FALSE(app->verify(vectors::kV1SignContent, "not base64!"));
  EXPECT_FALSE(app->verify(vectors::kV1SignContent, vectors::kV1Sign.substr(0, 100)));
}

// The io threads share one verifier (and so its prepared context): each verify, good or bad,
// must come out as it would alone, in any order and after any earlier outcome.
TEST(RsaVerifier, OneVerifierSharedByThreadsKeepsEveryVerdict) {
  auto v = RsaVerifier::from_text(key_text("app_pub.pem"));
  ASSERT_TRUE(v.has_value());
  std::string altered(vectors::kV1SignContent);
  altered.back() ^= 1;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const bool good = (i + t) % 2 == 0;
        const bool ok =
            v->verify(good ? std::string(vectors::kV1SignContent) : altered, vectors::kV1Sign);
        if (ok != good) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(v->verify(vectors::kV1SignContent, vectors::kV1Sign));
  EXPECT_FALSE(v->verify(altered, vectors::kV1Sign));
}

TEST(RsaKeys, GarbageAndWrongKindsAreRefused) {
  EXPECT_FALSE(RsaSigner::from_text(""));
  EXPECT_FALSE(RsaSigner::from_text("MIIBnotakey"));
  EXPECT_FALSE(RsaSigner::from_text(key_text("app_pub.pem")));  // public key is no signer
  EXPECT_FALSE(
      RsaVerifier::from_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"));
}

TEST(Base64, RoundTripsAndRejectsMalformed) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto enc = base64_encode(s);
    EXPECT_EQ(enc.find('\n'), std::string::npos);
    auto dec = base64_decode(enc);
    ASSERT_TRUE(dec);
    EXPECT_EQ(*dec, s);
  }
  EXPECT_EQ(base64_encode("abc+"), "YWJjKw==");
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("ab c"));
  EXPECT_FALSE(base64_decode("a==="));
}

}  // namespace
}  // namespace chatglmd::pay
