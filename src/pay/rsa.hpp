#pragma once
// SHA256withRSA ("RSA2") over OpenSSL EVP. Keys come in every form Alipay hands out: PEM or bare
// one-line base64, PKCS#1 or PKCS#8 for private keys, SPKI for public keys.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace chatglmd::pay {

// Standard base64 (+/=), no line breaks.
std::string base64_encode(std::string_view bytes);
// Strict standard base64; nullopt on anything malformed.
std::optional<std::string> base64_decode(std::string_view text);

class RsaSigner {
 public:
  // nullopt when the text is no private key in any accepted form.
  static std::optional<RsaSigner> from_text(std::string_view key_text);
  // Base64 of RSASSA-PKCS1-v1_5(SHA-256(data)); empty only if OpenSSL fails.
  std::string sign(std::string_view data) const;

 private:
  explicit RsaSigner(EVP_PKEY* key);
  std::shared_ptr<EVP_PKEY> key_;  // shared so signers copy cheaply; EVP_PKEY is thread-safe to use
};

class RsaVerifier {
 public:
  static std::optional<RsaVerifier> from_text(std::string_view key_text);
  // False on a malformed base64 signature as well as on a mismatch.
  bool verify(std::string_view data, std::string_view signature_b64) const;

 private:
  explicit RsaVerifier(EVP_PKEY* key);
  std::shared_ptr<EVP_PKEY> key_;
  // SHA-256 with this key, initialised once and only copied from afterwards (read-only, so the
  // io threads share it): EVP_DigestVerifyInit fetches the algorithms and sets the key up again
  // at every call, about an eighth of a verify. Null when OpenSSL could not prepare it.
  std::shared_ptr<EVP_MD_CTX> prepared_;
};

}  // namespace chatglmd::pay
