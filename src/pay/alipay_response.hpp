#pragma once
// Gateway answers (protocols.md A3): the signature covers the raw bytes of the
// `<method_with_underscores>_response` value, so we cut that text out of the body ourselves
// (quote/escape-aware brace matching) and never re-serialise it.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "pay/payment_gateway.hpp"
#include "pay/rsa.hpp"

namespace chatglmd::pay {

// The raw text of the value of `key` in the top-level JSON object of `body` (objects, arrays and
// strings keep their delimiters). nullopt when the body is no well-formed object or lacks the key.
std::optional<std::string_view> raw_top_level_value(std::string_view body, std::string_view key);

// "alipay.trade.query" -> "alipay_trade_query_response"
std::string response_key(std::string_view method);

// A gateway answer whose signature checked out. Only string fields are kept (Alipay sends
// every scalar as a string on the v1 gateway).
struct VerifiedReply {
  std::map<std::string, std::string> fields;
  std::string field(const std::string& name) const;
  std::string code() const { return field("code"); }
  std::string sub_code() const { return field("sub_code"); }
  bool success() const { return code() == "10000"; }
  std::string describe() const;  // "code/sub_code: sub_msg" for logs
};

struct ReplyCheck {
  std::optional<VerifiedReply> reply;  // empty: nothing in the answer can be trusted
  std::string detail;                  // why not, when empty
};

// HTTP status != 200, non-JSON, truncated, no response object, missing or bad sign => no reply.
ReplyCheck verify_reply(int http_status, std::string_view body, std::string_view method,
                        const RsaVerifier& alipay_key);

// Map a verified reply (or its absence) to the contract's outcomes.
TradeQueryResult interpret_query(const ReplyCheck& check, std::string_view out_trade_no);
// An answer that names another trade than `out_trade_no` is not about this order.
TradeCloseResult interpret_close(const ReplyCheck& check, std::string_view out_trade_no);
PayFormResult interpret_precreate(const ReplyCheck& check, std::string_view out_trade_no);

}  // namespace chatglmd::pay
