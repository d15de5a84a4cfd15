#include "pay/rsa.hpp"

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>

namespace chatglmd::pay {

namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string trim(std::string_view s) {
  auto b = std::find_if_not(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
  auto e = std::find_if_not(s.rbegin(), s.rend(), [](unsigned char c) { return std::isspace(c); });
  if (b >= e.base()) return {};
  return std::string(b, e.base());
}

// Decodes DER (or PEM, which the "PEM" input type also tries) with the OpenSSL 3 decoder,
// letting it guess PKCS#1 vs PKCS#8 vs SPKI.
EVP_PKEY* decode_key(std::string_view bytes, const char* input_type, int selection) {
  EVP_PKEY* key = nullptr;
  OSSL_DECODER_CTX* ctx =
      OSSL_DECODER_CTX_new_for_pkey(&key, input_type, nullptr, "RSA", selection, nullptr, nullptr);
  if (ctx == nullptr) return nullptr;
  auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t len = bytes.size();
  const int ok = OSSL_DECODER_from_data(ctx, &data, &len);
  OSSL_DECODER_CTX_free(ctx);
  if (ok != 1) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  return key;
}

EVP_PKEY* load_key(std::string_view key_text, int selection) {
  const std::string text = trim(key_text);
  if (text.empty()) return nullptr;
  if (text.find("-----BEGIN") != std::string::npos) return decode_key(text, "PEM", selection);
  // Bare base64 as the Alipay console shows it; tolerate line breaks inside.
  std::string compact;
  std::copy_if(text.begin(), text.end(), std::back_inserter(compact),
               [](unsigned char c) { return !std::isspace(c); });
  auto der = base64_decode(compact);
  if (!der) return nullptr;
  return decode_key(*der, "DER", selection);
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (char c : text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='))
      return std::nullopt;
  }
  std::string out(3 * (text.size() / 4) + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes; take them off again.
  std::size_t len = static_cast<std::size_t>(n);
  std::size_t pad = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++pad;
  if (pad > 2) return std::nullopt;
  out.resize(len - pad);
  return out;
}

RsaSigner::RsaSigner(EVP_PKEY* key) : key_(key, EVP_PKEY_free) {}

std::optional<RsaSigner> RsaSigner::from_text(std::string_view key_text) {
  EVP_PKEY* key = load_key(key_text, EVP_PKEY_KEYPAIR);
  if (key == nullptr) return std::nullopt;
  return RsaSigner(key);
}

std::string RsaSigner::sign(std::string_view data) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1)
    return {};
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1)
    return {};
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return {};
  sig.resize(len);
  return base64_encode(sig);
}

RsaVerifier::RsaVerifier(EVP_PKEY* key) : key_(key, EVP_PKEY_free) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1)
    prepared_ = std::shared_ptr<EVP_MD_CTX>(ctx.release(), EVP_MD_CTX_free);
}

std::optional<RsaVerifier> RsaVerifier::from_text(std::string_view key_text) {
  EVP_PKEY* key = load_key(key_text, EVP_PKEY_PUBLIC_KEY);
  if (key == nullptr) return std::nullopt;
  return RsaVerifier(key);
}

bool RsaVerifier::verify(std::string_view data, std::string_view signature_b64) const {
  auto sig = base64_decode(signature_b64);
  if (!sig || sig->empty()) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (!prepared_ || EVP_MD_CTX_copy_ex(ctx.get(), prepared_.get()) != 1) {
    EVP_MD_CTX_reset(ctx.get());  // a failed copy may have left part of one behind
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1)
      return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()),
                          sig->size(), reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1;
}

}  // namespace chatglmd::pay
