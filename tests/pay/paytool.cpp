// chatglmd-paytool: our Alipay primitives behind a JSON-on-stdin CLI, so tests in other languages
// (tests/e2e/alipay, against the official SDK) can compare byte for byte.
//   sign             {"private_key" | "private_key_file", "params": {k: v}}       -> {sign_content,
//   sign} verify-notify    {"public_key" | "public_key_file", "body", "app_id"?, "seller_id"?,
//                     "order"?: {"out_trade_no", "total_amount"}}                 -> {signature_ok,
//                     verdict, fields}
//   verify-response  {"public_key" | "public_key_file", "method", "status"?, "body"} -> {trusted,
//   detail, fields}
//   refund-request   {"private_key_file", "app_id", "timestamp_ms", "out_trade_no",
//                     "out_request_no", "refund_amount_fen", "refund_reason"?} -> {params}: the
//                     alipay.trade.refund request our builder sends, query and body decoded
// Exit 0 with JSON on stdout; exit 2 on bad usage or input.
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "pay/alipay_notify.hpp"
#include "pay/alipay_params.hpp"
#include "pay/alipay_request.hpp"
#include "pay/alipay_response.hpp"
#include "pay/rsa.hpp"

namespace json = boost::json;
using namespace chatglmd;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string key_text(const json::object& in, std::string_view inline_key,
                     std::string_view file_key) {
  if (auto k = str(in, inline_key); !k.empty()) return k;
  std::ifstream f(str(in, file_key));
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int fail(const std::string& why) {
  std::cerr << "chatglmd-paytool: " << why << "\n";
  return 2;
}

int sign(const json::object& in) {
  auto signer = pay::RsaSigner::from_text(key_text(in, "private_key", "private_key_file"));
  if (!signer) return fail("no usable private key");
  const auto* p = in.if_contains("params");
  if (p == nullptr || !p->is_object()) return fail("params must be an object");
  pay::Params params;
  for (const auto& [k, v] : p->get_object()) {
    if (!v.is_string()) return fail("param values must be strings");
    params.emplace_back(std::string(k), std::string(v.get_string()));
  }
  const std::string content = pay::sign_content(params, pay::EmptyValues::Drop);
  std::cout << json::serialize(
                   json::object{{"sign_content", content}, {"sign", signer->sign(content)}})
            << "\n";
  return 0;
}

int verify_notify(const json::object& in) {
  auto verifier = pay::RsaVerifier::from_text(key_text(in, "public_key", "public_key_file"));
  if (!verifier) return fail("no usable public key");
  const pay::ParsedNotify n = pay::parse_notify(str(in, "body"), *verifier);
  std::optional<core::Order> order;
  if (const auto* o = in.if_contains("order"); o && o->is_object()) {
    order.emplace();
    order->order_id = str(o->get_object(), "out_trade_no");
    auto amount = core::parse_yuan(str(o->get_object(), "total_amount"));
    if (!amount) return fail("order.total_amount must be a yuan string");
    order->amount = *amount;
  }
  const auto verdict =
      pay::check_notify(n, {str(in, "app_id"), str(in, "seller_id")}, order ? &*order : nullptr);
  json::object fields;
  for (const auto& [k, v] : n.params) fields[k] = v;
  std::cout << json::serialize(json::object{{"well_formed", n.well_formed},
                                            {"signature_ok", n.signature_ok},
                                            {"verdict", pay::name_of(verdict)},
                                            {"fields", fields}})
            << "\n";
  return 0;
}

int verify_response(const json::object& in) {
  auto verifier = pay::RsaVerifier::from_text(key_text(in, "public_key", "public_key_file"));
  if (!verifier) return fail("no usable public key");
  int status = 200;
  if (const auto* s = in.if_contains("status"); s && s->is_int64())
    status = static_cast<int>(s->as_int64());
  const auto check = pay::verify_reply(status, str(in, "body"), str(in, "method"), *verifier);
  json::object fields;
  if (check.reply)
    for (const auto& [k, v] : check.reply->fields) fields[k] = v;
  std::cout << json::serialize(json::object{{"trusted", check.reply.has_value()},
                                            {"detail", check.detail},
                                            {"fields", fields}})
            << "\n";
  return 0;
}

int refund_request(const json::object& in) {
  auto signer = pay::RsaSigner::from_text(key_text(in, "private_key", "private_key_file"));
  if (!signer) return fail("no usable private key");
  const auto* ts = in.if_contains("timestamp_ms");
  const auto* fen = in.if_contains("refund_amount_fen");
  if (ts == nullptr || !ts->is_int64() || fen == nullptr || !fen->is_int64())
    return fail("timestamp_ms and refund_amount_fen must be integers");
  pay::AlipayConfig config;
  config.app_id = str(in, "app_id");
  core::ManualClock clock(core::UtcMs{ts->as_int64()});
  pay::AlipayRequestBuilder builder(config, std::move(*signer), clock);
  const auto request = builder.refund({str(in, "out_trade_no"), str(in, "out_request_no"),
                                       core::Fen{fen->as_int64()}, str(in, "refund_reason")});
  const auto q = request.url.find('?');
  auto params = pay::form_decode(q == std::string::npos ? "" : request.url.substr(q + 1));
  auto body = pay::form_decode(request.body);
  if (!params || !body) return fail("our own request does not decode");
  json::object out;
  for (const auto& [k, v] : *params) out[k] = v;
  for (const auto& [k, v] : *body) out[k] = v;
  std::cout << json::serialize(json::object{{"params", out}}) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2)
    return fail("usage: chatglmd-paytool sign|verify-notify|verify-response < input.json");
  std::stringstream input;
  input << std::cin.rdbuf();
  boost::system::error_code ec;
  const json::value v = json::parse(input.str(), ec);
  if (ec || !v.is_object()) return fail("stdin must be a JSON object");
  const std::string command = argv[1];
  if (command == "sign") return sign(v.get_object());
  if (command == "verify-notify") return verify_notify(v.get_object());
  if (command == "verify-response") return verify_response(v.get_object());
  if (command == "refund-request") return refund_request(v.get_object());
  return fail("unknown command " + command);
}
