// Alipay's asynchronous notify: form decoding, the RSA2 signature check and the merchant checks.
// Property: a body we sign with the Alipay test key verifies and decodes to the same fields.
#include "core/money.hpp"
#include "fuzz/fuzz_support.hpp"
#include "pay/alipay_notify.hpp"

using namespace chatglmd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto verifier = *pay::RsaVerifier::from_text(fuzz::fixture("ali_pub.pem"));
  static const auto signer = *pay::RsaSigner::from_text(fuzz::fixture("ali_pkcs1.pem"));
  std::string_view body = fuzz::as_text(data, size);
  auto parsed = pay::parse_notify(body, verifier);
  if (!parsed.well_formed) return 0;

  core::Order order;
  order.order_id = parsed.fields.out_trade_no;
  order.amount = parsed.fields.total_amount.value_or(core::Fen{100});
  const pay::MerchantIdentity merchant{"2021000000000001", "2088000000000001"};
  auto verdict = pay::check_notify(parsed, merchant, &order);
  (void)pay::name_of(verdict);
  (void)pay::check_notify(parsed, merchant, nullptr);
  if (!parsed.signature_ok) FUZZ_CHECK(verdict == pay::NotifyVerdict::BadSignature);

  // Signing costs a millisecond: only for bodies of a notify's size.
  if (body.size() > 4096) return 0;
  auto resigned = pay::sign_notify_body(parsed.params, signer);
  auto again = pay::parse_notify(resigned, verifier);
  FUZZ_CHECK(again.well_formed && again.signature_ok);
  FUZZ_CHECK(again.fields.out_trade_no == parsed.fields.out_trade_no);
  FUZZ_CHECK(again.fields.trade_status == parsed.fields.trade_status);
  FUZZ_CHECK(again.fields.total_amount == parsed.fields.total_amount);
  return 0;
}
