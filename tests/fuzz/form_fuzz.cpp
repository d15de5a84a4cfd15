// Query strings and form bodies, as the front (http::parse_form) and the Alipay adapter
// (pay::form_decode) decode them. Properties: both decoders agree, and what we encode decodes
// back to the same pairs.
#include "fuzz/fuzz_support.hpp"
#include "http/request.hpp"
#include "pay/alipay_params.hpp"

using namespace chatglmd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  auto front = http::parse_form(text);
  auto alipay = pay::form_decode(text);
  FUZZ_CHECK(front.has_value() == alipay.has_value());
  if (!front) return 0;
  FUZZ_CHECK(front->pairs() == *alipay);
  for (const auto& [key, value] : *alipay) FUZZ_CHECK(front->get(key).has_value());
  auto again = pay::form_decode(pay::form_encode(*alipay));
  FUZZ_CHECK(again.has_value() && *again == *alipay);
  (void)pay::sign_content(*alipay, pay::EmptyValues::Drop);
  return 0;
}
