#include "pay/alipay_refund.hpp"

#include <fmt/format.h>

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/money.hpp"
#include "pay/alipay_request.hpp"

namespace chatglmd::pay {

namespace {

// A signed success answer is only about this refund when it says so: a genuine answer to
// another call (another order, another refund) verifies just as well. Empty when it is ours.
std::string not_about(const VerifiedReply& rep, const RefundRequest& request,
                      bool with_request_no) {
  for (auto [field, want] :
       {std::pair{"out_trade_no", std::string_view(request.out_trade_no)},
        std::pair{"out_request_no", std::string_view(request.out_request_no)}}) {
    if (!with_request_no && std::string_view(field) == "out_request_no") continue;
    const std::string echoed = rep.field(field);
    if (echoed.empty()) return fmt::format("answer without {}", field);
    if (echoed != want) return fmt::format("answer is about {} {}", field, echoed);
  }
  const std::string trade_no = rep.field("trade_no");
  if (!trade_no.empty() && !request.trade_no.empty() && trade_no != request.trade_no)
    return "answer is about trade_no " + trade_no;
  return {};
}

}  // namespace

std::string refund_biz_content(const RefundRequest& r) {
  boost::json::object o;
  o["out_trade_no"] = r.out_trade_no;
  o["refund_amount"] = core::format_yuan(r.amount);
  o["out_request_no"] = r.out_request_no;
  if (!r.reason.empty()) o["refund_reason"] = r.reason;
  return boost::json::serialize(o);
}

std::string refund_query_biz_content(std::string_view out_trade_no,
                                     std::string_view out_request_no) {
  boost::json::object o;
  o["out_trade_no"] = out_trade_no;
  o["out_request_no"] = out_request_no;
  return boost::json::serialize(o);
}

net::HttpRequest AlipayRequestBuilder::refund(const RefundRequest& request) const {
  return post(sign(kMethodRefund, refund_biz_content(request), false, false));
}

net::HttpRequest AlipayRequestBuilder::refund_query(std::string_view out_trade_no,
                                                    std::string_view out_request_no) const {
  return post(sign(kMethodRefundQuery, refund_query_biz_content(out_trade_no, out_request_no),
                   false, false));
}

bool refund_refused_for_good(std::string_view sub_code) {
  static constexpr std::array<std::string_view, 6> kFinal = {
      "ACQ.TRADE_HAS_FINISHED",     "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "ACQ.TRADE_HAS_CLOSED",
      "ACQ.TRADE_NOT_ALLOW_REFUND", "ACQ.TRADE_STATUS_ERROR",         "ACQ.TRADE_NOT_EXIST"};
  for (auto code : kFinal)
    if (sub_code == code) return true;
  return false;
}

RefundResult interpret_refund(const ReplyCheck& check, const RefundRequest& request) {
  using K = RefundResult::Kind;
  RefundResult r;
  if (!check.reply) {
    r.detail = check.detail;
    return r;
  }
  const VerifiedReply& rep = *check.reply;
  r.detail = rep.describe();
  if (!rep.success()) {
    if (refund_refused_for_good(rep.sub_code())) r.kind = K::Refused;
    return r;
  }
  if (auto m = not_about(rep, request, false); !m.empty()) {
    r.detail = m;
    return r;
  }
  const auto fee = core::parse_yuan(rep.field("refund_fee"));
  if (!fee) {
    r.detail = "refund answer with unreadable refund_fee '" + rep.field("refund_fee") + "'";
    return r;
  }
  r.refund_fee = *fee;
  const std::string fund_change = rep.field("fund_change");
  r.detail = "fund_change=" + fund_change + " refund_fee=" + rep.field("refund_fee");
  // fund_change N is what a resend of a refund already made answers: not an error, but not a
  // confirmation either. The refund query decides.
  r.kind = fund_change == "Y" ? K::Refunded : K::NoFundChange;
  return r;
}

RefundQueryResult interpret_refund_query(const ReplyCheck& check, const RefundRequest& request) {
  using K = RefundQueryResult::Kind;
  RefundQueryResult r;
  if (!check.reply) {
    r.detail = check.detail;
    return r;
  }
  const VerifiedReply& rep = *check.reply;
  r.detail = rep.describe();
  // An error answer names no trade (a signed ACQ.TRADE_NOT_EXIST about any call would verify
  // here too), and NotRefunded is what lets a refund fail for good: errors stay Unclear.
  if (!rep.success()) return r;
  if (auto m = not_about(rep, request, true); !m.empty()) {
    r.detail = m;
    return r;
  }
  const std::string status = rep.field("refund_status");
  r.detail = "refund_status=" + (status.empty() ? std::string("(none)") : status);
  if (status != "REFUND_SUCCESS") {
    // Alipay leaves refund_status out for a refund it never received or did not make.
    r.kind = K::NotRefunded;
    return r;
  }
  const auto amount = core::parse_yuan(rep.field("refund_amount"));
  if (!amount) {
    r.detail = "REFUND_SUCCESS with unreadable refund_amount '" + rep.field("refund_amount") + "'";
    return r;
  }
  r.kind = K::Succeeded;
  r.refund_amount = *amount;
  return r;
}

}  // namespace chatglmd::pay
