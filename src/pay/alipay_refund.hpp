#pragma once
// alipay.trade.refund and alipay.trade.fastpay.refund.query: request bodies and what their
// verified answers mean. Same rules as query and close: fields are read from the signed text
// only, and anything we cannot trust is Unclear.
#include <string>
#include <string_view>

#include "pay/alipay_response.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::pay {

// {"out_trade_no","refund_amount":"9.99","out_request_no","refund_reason"}; no empty reason.
std::string refund_biz_content(const RefundRequest& request);
std::string refund_query_biz_content(std::string_view out_trade_no,
                                     std::string_view out_request_no);

// A success answer must echo our out_trade_no (and the query our out_request_no too), and may
// not name another trade_no: the signature covers the answer, not which call it answers.
RefundResult interpret_refund(const ReplyCheck& check, const RefundRequest& request);
RefundQueryResult interpret_refund_query(const ReplyCheck& check, const RefundRequest& request);

// Sub-codes after which Alipay will never make this refund: the trade is finished (too old),
// closed, not refundable, unknown, or the full amount is refused.
bool refund_refused_for_good(std::string_view sub_code);

}  // namespace chatglmd::pay
