#include "pay/alipay_response.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/money.hpp"
#include "pay/alipay_time.hpp"

namespace chatglmd::pay {

namespace {

void skip_ws(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
}

// s[i] == '"'; leaves i one past the closing quote. False if unterminated.
bool skip_string(std::string_view s, std::size_t& i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      ++i;
      return true;
    }
  }
  return false;
}

// Skips one JSON value starting at s[i]; braces inside strings do not count.
bool skip_value(std::string_view s, std::size_t& i) {
  if (i >= s.size()) return false;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        if (!skip_string(s, i)) return false;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++i;
          return true;
        }
      }
      ++i;
    }
    return false;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' &&
         s[i] != '\r' && s[i] != '\t')
    ++i;
  return true;
}

bool verify_with_fallback(const RsaVerifier& key, std::string_view text, std::string_view sign) {
  if (key.verify(text, sign)) return true;
  // The .NET SDK's second try: some gateways sign the text with "\/" unescaped.
  if (text.find("\\/") == std::string_view::npos) return false;
  std::string alt(text);
  for (std::size_t p = 0; (p = alt.find("\\/", p)) != std::string::npos;) alt.erase(p, 1), ++p;
  return key.verify(alt, sign);
}

// A signed answer names the trade it is about; one about another trade (replayed) is not ours.
bool about_another_trade(const VerifiedReply& rep, std::string_view out_trade_no) {
  const std::string echoed = rep.field("out_trade_no");
  return !echoed.empty() && echoed != out_trade_no;
}

}  // namespace

std::optional<std::string_view> raw_top_level_value(std::string_view body, std::string_view key) {
  std::size_t i = 0;
  skip_ws(body, i);
  if (i >= body.size() || body[i] != '{') return std::nullopt;
  ++i;
  std::optional<std::string_view> found;
  while (true) {
    skip_ws(body, i);
    if (i < body.size() && body[i] == '}') break;
    if (i >= body.size() || body[i] != '"') return std::nullopt;
    const std::size_t key_start = i + 1;
    if (!skip_string(body, i)) return std::nullopt;
    const std::string_view k = body.substr(key_start, i - 1 - key_start);
    skip_ws(body, i);
    if (i >= body.size() || body[i] != ':') return std::nullopt;
    ++i;
    skip_ws(body, i);
    const std::size_t value_start = i;
    if (!skip_value(body, i)) return std::nullopt;
    // Keys we look for never carry escapes, so comparing the raw key text is exact.
    if (k == key && !found) found = body.substr(value_start, i - value_start);
    skip_ws(body, i);
    if (i < body.size() && body[i] == ',') {
      ++i;
      continue;
    }
    if (i < body.size() && body[i] == '}') break;
    return std::nullopt;
  }
  return found;
}

std::string response_key(std::string_view method) {
  std::string k(method);
  for (char& c : k)
    if (c == '.') c = '_';
  return k + "_response";
}

std::string VerifiedReply::field(const std::string& name) const {
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : it->second;
}

std::string VerifiedReply::describe() const {
  std::string d = code();
  if (!sub_code().empty()) d += "/" + sub_code();
  const std::string msg = field("sub_msg").empty() ? field("msg") : field("sub_msg");
  if (!msg.empty()) d += ": " + msg;
  return d;
}

ReplyCheck verify_reply(int http_status, std::string_view body, std::string_view method,
                        const RsaVerifier& alipay_key) {
  if (http_status != 200) return {std::nullopt, "HTTP " + std::to_string(http_status)};
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return {std::nullopt, "answer is not a JSON object"};
  const auto& top = doc.get_object();

  std::string key = response_key(method);
  if (!top.contains(key)) key = "error_response";
  const auto* payload = top.if_contains(key);
  if (payload == nullptr || !payload->is_object())
    return {std::nullopt, "answer has no " + response_key(method)};
  const auto* sign = top.if_contains("sign");
  if (sign == nullptr || !sign->is_string() || sign->get_string().empty())
    return {std::nullopt, "unsigned answer (" + key + ")"};
  const auto raw = raw_top_level_value(body, key);
  if (!raw) return {std::nullopt, "cannot locate " + key};
  if (!verify_with_fallback(alipay_key, *raw, sign->get_string()))
    return {std::nullopt, "bad response signature"};
  // Read the fields from the signed text itself. The parsed body keeps the LAST of two equal
  // keys (also a key spelt with a JSON escape) while the signed text is the first literal one, so
  // a forged second copy next to any genuine signed answer would otherwise be read as genuine.
  const boost::json::value signed_value = boost::json::parse(*raw, ec);
  if (ec || !signed_value.is_object() || signed_value != *payload)
    return {std::nullopt, "answer differs from its signed text"};

  VerifiedReply reply;
  for (const auto& [k, v] : signed_value.get_object()) {
    if (v.is_string()) reply.fields.emplace(std::string(k), std::string(v.get_string()));
  }
  return {std::move(reply), ""};
}

TradeQueryResult interpret_query(const ReplyCheck& check, std::string_view out_trade_no) {
  using K = TradeQueryResult::Kind;
  TradeQueryResult r;
  if (!check.reply) {
    r.detail = check.detail;
    return r;
  }
  const VerifiedReply& rep = *check.reply;
  r.detail = rep.describe();
  if (!rep.success()) {
    r.kind = rep.sub_code() == "ACQ.TRADE_NOT_EXIST" ? K::NotExist : K::Unclear;
    return r;
  }
  if (about_another_trade(rep, out_trade_no)) {
    r.detail = "answer is about trade " + rep.field("out_trade_no");
    return r;
  }
  r.trade_no = rep.field("trade_no");
  const std::string status = rep.field("trade_status");
  r.detail = status;
  if (status == "WAIT_BUYER_PAY") {
    r.kind = K::Waiting;
  } else if (status == "TRADE_CLOSED") {
    r.kind = K::Closed;
  } else if (status == "TRADE_SUCCESS" || status == "TRADE_FINISHED") {
    const auto amount = core::parse_yuan(rep.field("total_amount"));
    if (!amount) {
      r.detail = "paid trade with unreadable total_amount '" + rep.field("total_amount") + "'";
      return r;
    }
    r.kind = K::Paid;
    r.amount = *amount;
    r.paid_at = parse_alipay_time(rep.field("send_pay_date"));
  } else {
    r.detail = "unknown trade_status '" + status + "'";
  }
  return r;
}

TradeCloseResult interpret_close(const ReplyCheck& check, std::string_view out_trade_no) {
  using K = TradeCloseResult::Kind;
  TradeCloseResult r;
  if (!check.reply) {
    r.detail = check.detail;
    return r;
  }
  const VerifiedReply& rep = *check.reply;
  r.detail = rep.describe();
  if (rep.success()) {
    if (about_another_trade(rep, out_trade_no)) {
      r.detail = "answer is about trade " + rep.field("out_trade_no");
      return r;
    }
    r.kind = K::Closed;
  } else if (rep.sub_code() == "ACQ.TRADE_NOT_EXIST") {
    r.kind = K::NotExist;
  } else if (rep.sub_code() == "ACQ.TRADE_STATUS_ERROR" ||
             rep.sub_code() == "ACQ.REASON_TRADE_STATUS_INVALID") {
    r.kind = K::StatusError;
  }
  return r;
}

PayFormResult interpret_precreate(const ReplyCheck& check, std::string_view out_trade_no) {
  PayFormResult r;
  if (!check.reply) {
    r.detail = check.detail;
    return r;
  }
  const VerifiedReply& rep = *check.reply;
  if (!rep.success()) {
    r.detail = rep.describe();
    return r;
  }
  if (about_another_trade(rep, out_trade_no)) {
    r.detail = "precreate answer is about trade " + rep.field("out_trade_no");
    return r;
  }
  r.data = rep.field("qr_code");
  r.ok = !r.data.empty();
  if (!r.ok) r.detail = "precreate answer without qr_code";
  return r;
}

}  // namespace chatglmd::pay
