#include "pay/alipay_request.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "pay/alipay_time.hpp"

namespace chatglmd::pay {

namespace {

std::string trade_biz_content(const TradeSpec& trade, std::string_view product_code) {
  boost::json::object o;
  o["out_trade_no"] = trade.out_trade_no;
  o["total_amount"] = core::format_yuan(trade.amount);
  o["subject"] = trade.subject;
  if (!product_code.empty()) o["product_code"] = product_code;
  // No timeout_express beside it: Alipay lets time_expire win when both are given, and the
  // relative one could only end later.
  if (trade.time_expire) o["time_expire"] = format_alipay_time(*trade.time_expire);
  return boost::json::serialize(o);
}

void add_if_set(Params& params, std::string key, std::string value) {
  if (!value.empty()) params.emplace_back(std::move(key), std::move(value));
}

}  // namespace

std::string page_pay_biz_content(const TradeSpec& trade) {
  return trade_biz_content(trade, "FAST_INSTANT_TRADE_PAY");
}

std::string precreate_biz_content(const TradeSpec& trade) {
  return trade_biz_content(trade, "");
}

std::string out_trade_no_biz_content(std::string_view out_trade_no) {
  boost::json::object o;
  o["out_trade_no"] = out_trade_no;
  return boost::json::serialize(o);
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

AlipayRequestBuilder::AlipayRequestBuilder(AlipayConfig config, RsaSigner signer,
                                           const core::Clock& clock)
    : config_(std::move(config)), signer_(std::move(signer)), clock_(clock) {}

SignedRequest AlipayRequestBuilder::sign(std::string_view method, std::string biz_content,
                                         bool with_notify_url, bool with_return_url) const {
  SignedRequest r;
  add_if_set(r.query, "app_id", config_.app_id);
  add_if_set(r.query, "method", std::string(method));
  r.query.emplace_back("charset", "utf-8");
  r.query.emplace_back("sign_type", "RSA2");
  // Java's DATE_TIMEZONE: the gateway reads the timestamp as Beijing time.
  r.query.emplace_back("timestamp", core::format_wall_time(clock_.now(), 8));
  r.query.emplace_back("version", "1.0");
  if (with_notify_url) add_if_set(r.query, "notify_url", config_.notify_url);
  if (with_return_url) add_if_set(r.query, "return_url", config_.return_url);
  add_if_set(r.body, "biz_content", std::move(biz_content));

  Params all = r.query;
  all.insert(all.end(), r.body.begin(), r.body.end());
  r.sign_content = sign_content(std::move(all), EmptyValues::Drop);
  r.query.emplace_back("sign", signer_.sign(r.sign_content));
  return r;
}

TradeSpec AlipayRequestBuilder::trade_of(const core::Order& order) const {
  TradeSpec t{order.order_id, order.amount, order.product_name,
              time_expire_of(order.order_time, config_.close_after)};
  if (t.subject.empty()) t.subject = "chatglmd order " + order.order_id;
  return t;
}

std::string AlipayRequestBuilder::gateway_with_query(const Params& query) const {
  const char sep = config_.gateway.find('?') == std::string::npos ? '?' : '&';
  return config_.gateway + sep + form_encode(query);
}

std::string AlipayRequestBuilder::page_pay_form(const TradeSpec& trade) const {
  const SignedRequest r = sign(kMethodPagePay, page_pay_biz_content(trade), true, true);
  std::string html = "<form id=\"alipay_submit\" name=\"alipay_submit\" method=\"post\" action=\"" +
                     html_escape(gateway_with_query(r.query)) + "\">\n";
  for (const auto& [k, v] : r.body) {
    html += "<input type=\"hidden\" name=\"" + html_escape(k) + "\" value=\"" + html_escape(v) +
            "\">\n";
  }
  html += "<input type=\"submit\" value=\"Pay with Alipay\" style=\"display:none\">\n</form>\n";
  html += "<script>document.forms[\"alipay_submit\"].submit();</script>\n";
  return html;
}

std::string AlipayRequestBuilder::page_pay_url(const TradeSpec& trade) const {
  const SignedRequest r = sign(kMethodPagePay, page_pay_biz_content(trade), true, true);
  Params all = r.query;
  all.insert(all.end(), r.body.begin(), r.body.end());
  return gateway_with_query(all);
}

std::string AlipayRequestBuilder::page_pay_form(const core::Order& order) const {
  return page_pay_form(trade_of(order));
}

std::string AlipayRequestBuilder::page_pay_url(const core::Order& order) const {
  return page_pay_url(trade_of(order));
}

net::HttpRequest AlipayRequestBuilder::post(const SignedRequest& r) const {
  net::HttpRequest req;
  req.method = "POST";
  req.url = gateway_with_query(r.query);
  req.headers.emplace_back("Content-Type", std::string(kFormContentType));
  req.headers.emplace_back("Accept", "application/json");
  req.body = form_encode(r.body);
  return req;
}

net::HttpRequest AlipayRequestBuilder::precreate(const core::Order& order) const {
  return post(sign(kMethodPrecreate, precreate_biz_content(trade_of(order)), true, false));
}

net::HttpRequest AlipayRequestBuilder::query(std::string_view out_trade_no) const {
  return post(sign(kMethodQuery, out_trade_no_biz_content(out_trade_no), false, false));
}

net::HttpRequest AlipayRequestBuilder::close(std::string_view out_trade_no) const {
  return post(sign(kMethodClose, out_trade_no_biz_content(out_trade_no), false, false));
}

}  // namespace chatglmd::pay
