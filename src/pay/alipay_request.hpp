#pragma once
// Builds signed Alipay OpenAPI requests. Pure: no I/O; the clock is injected so the same inputs
// always give the same bytes.
#include <optional>
#include <string>
#include <string_view>

#include "core/money.hpp"
#include "core/order.hpp"
#include "core/time.hpp"
#include "net/http_client.hpp"
#include "pay/alipay_config.hpp"
#include "pay/alipay_params.hpp"
#include "pay/rsa.hpp"

namespace chatglmd::pay {

inline constexpr std::string_view kMethodPagePay = "alipay.trade.page.pay";
inline constexpr std::string_view kMethodPrecreate = "alipay.trade.precreate";
inline constexpr std::string_view kMethodQuery = "alipay.trade.query";
inline constexpr std::string_view kMethodClose = "alipay.trade.close";
inline constexpr std::string_view kMethodRefund = "alipay.trade.refund";
inline constexpr std::string_view kMethodRefundQuery = "alipay.trade.fastpay.refund.query";
inline constexpr std::string_view kFormContentType =
    "application/x-www-form-urlencoded;charset=UTF-8";

struct RefundRequest;

struct TradeSpec {
  std::string out_trade_no;
  core::Fen amount;
  std::string subject;
  // Absolute: the relative timeout_express would start only when the buyer opens the cashier,
  // so a tab kept open could pay after our close. Not sent when empty.
  std::optional<core::UtcMs> time_expire;
};

// biz_content JSON, keys in a fixed order.
std::string page_pay_biz_content(const TradeSpec& trade);
std::string precreate_biz_content(const TradeSpec& trade);
std::string out_trade_no_biz_content(std::string_view out_trade_no);

// Escapes & < > " ' for an HTML attribute or text.
std::string html_escape(std::string_view text);

// A signed request split the way the SDKs send it: common params (and sign) in the URL query,
// the rest (biz_content) in the form body.
struct SignedRequest {
  Params query;  // includes sign
  Params body;
  std::string sign_content;  // what was signed, for tests and debugging
};

class AlipayRequestBuilder {
 public:
  AlipayRequestBuilder(AlipayConfig config, RsaSigner signer, const core::Clock& clock);

  // Common params + biz_content, signed. Empty params are never sent.
  SignedRequest sign(std::string_view method, std::string biz_content, bool with_notify_url,
                     bool with_return_url) const;

  // The order's trade, with time_expire = order time + config().close_after.
  TradeSpec trade_of(const core::Order& order) const;
  std::string page_pay_form(const core::Order& order) const;
  std::string page_pay_url(const core::Order& order) const;
  net::HttpRequest precreate(const core::Order& order) const;
  net::HttpRequest query(std::string_view out_trade_no) const;
  net::HttpRequest close(std::string_view out_trade_no) const;
  // alipay_refund.cpp
  net::HttpRequest refund(const RefundRequest& request) const;
  net::HttpRequest refund_query(std::string_view out_trade_no,
                                std::string_view out_request_no) const;

  // page.pay for an explicit trade (the order-based forms call these).
  std::string page_pay_form(const TradeSpec& trade) const;
  std::string page_pay_url(const TradeSpec& trade) const;

  const AlipayConfig& config() const { return config_; }

 private:
  net::HttpRequest post(const SignedRequest& request) const;
  std::string gateway_with_query(const Params& query) const;

  AlipayConfig config_;
  RsaSigner signer_;
  const core::Clock& clock_;
};

}  // namespace chatglmd::pay
