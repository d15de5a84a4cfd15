// Alipay gateway answers: the signed text cut out of the body by hand, the signature check and
// the interpretation. Properties: the cut-out text is JSON equal to what a JSON parser finds
// under the key unless the key comes again (also after re-serialising the body), and an answer
// we sign verifies.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "fuzz/fuzz_support.hpp"
#include "pay/alipay_response.hpp"

using namespace chatglmd;
namespace json = boost::json;

namespace {

constexpr std::string_view kMethods[] = {"alipay.trade.query", "alipay.trade.close",
                                         "alipay.trade.precreate",
                                         "alipay.trade.fastpay.refund.query"};

void interpret(const pay::ReplyCheck& check) {
  (void)pay::interpret_query(check, "202401020001");
  (void)pay::interpret_close(check, "202401020001");
  (void)pay::interpret_precreate(check, "202401020001");
  if (check.reply) (void)check.reply->describe();
}

// The members of the object `body` that follow `value` (a view into it), as an object of their
// own; empty when `value` is its last member.
json::object members_after(std::string_view body, std::string_view value) {
  std::string_view rest = body.substr(value.data() + value.size() - body.data());
  rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t\r\n")));
  if (rest.empty() || rest.front() != ',') return {};
  boost::system::error_code ec;
  auto later = json::parse("{" + std::string(rest.substr(1)), ec);
  FUZZ_CHECK(!ec && later.is_object());  // the tail of a well-formed object is one
  return later.as_object();
}

// raw_top_level_value against a real JSON parser. The cutter takes the first copy of a repeated
// key (the copy a signature covers), the parser keeps the last: they agree unless the key comes
// again later, and then the parser's copy is the later members' own.
void agrees_with_parser(std::string_view body, const std::string& key) {
  auto raw = pay::raw_top_level_value(body, key);
  boost::system::error_code ec;
  auto whole = json::parse(body, ec);
  if (ec || !whole.is_object()) return;  // the cutter may be more lenient; it then must not crash
  const auto* value = whole.as_object().if_contains(key);
  if (!value) return;
  FUZZ_CHECK(raw.has_value());
  auto cut = json::parse(*raw, ec);
  FUZZ_CHECK(!ec);
  const auto later = members_after(body, *raw);
  if (const auto* again = later.if_contains(key)) {
    FUZZ_CHECK(*again == *value);
  } else {
    FUZZ_CHECK(cut == *value);
  }
  // Re-serialised, the answer still yields the same value.
  auto again = json::serialize(whole);
  auto raw_again = pay::raw_top_level_value(again, key);
  FUZZ_CHECK(raw_again.has_value());
  FUZZ_CHECK(json::parse(*raw_again) == *value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto verifier = *pay::RsaVerifier::from_text(fuzz::fixture("ali_pub.pem"));
  static const auto signer = *pay::RsaSigner::from_text(fuzz::fixture("ali_pkcs1.pem"));
  fuzz::Cursor in(fuzz::as_text(data, size));
  auto method = kMethods[in.byte() % std::size(kMethods)];
  auto key = pay::response_key(method);
  std::string_view body = in.rest();

  // As received.
  interpret(pay::verify_reply(200, body, method, verifier));
  agrees_with_parser(body, key);

  // The input as the signed part of an answer Alipay signed: it must verify when it is an object.
  if (body.size() > 4096) return 0;
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) return 0;
  // Alipay signs the value's text, which starts and ends at the braces (white space around is
  // not part of it).
  const auto first = body.find_first_not_of(" \t\r\n");
  const auto text = body.substr(first, body.find_last_not_of(" \t\r\n") - first + 1);
  std::string answer =
      "{\"" + key + "\":" + std::string(body) + ",\"sign\":\"" + signer.sign(text) + "\"}";
  auto check = pay::verify_reply(200, answer, method, verifier);
  FUZZ_CHECK(check.reply.has_value());
  for (const auto& [name, field] : value.as_object())
    if (field.is_string())
      FUZZ_CHECK(check.reply->field(std::string(name)) == std::string(field.as_string()));
  interpret(check);
  return 0;
}
