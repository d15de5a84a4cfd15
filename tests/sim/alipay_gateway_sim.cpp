#include "alipay_gateway_sim.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "alipay_notifier.hpp"
#include "alipay_sim_trades.hpp"
#include "core/money.hpp"
#include "pay/alipay_notify.hpp"
#include "pay/alipay_params.hpp"
#include "pay/alipay_request.hpp"
#include "pay/alipay_response.hpp"
#include "pay/alipay_time.hpp"
#include "pay/rsa.hpp"

namespace chatglmd::sim {

namespace json = boost::json;
using pay::Params;

namespace {

constexpr std::string_view kBuyerId = "2088102177846880";
constexpr std::string_view kBuyerLogon = "tes***@example.com";

std::string read_key(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("alipay sim: cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::pair<std::string, std::string> split_target(const std::string& target) {
  const auto q = target.find('?');
  if (q == std::string::npos) return {target, ""};
  return {target.substr(0, q), target.substr(q + 1)};
}

SimResponse json_answer(int status, const json::value& v) {
  SimResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = json::serialize(v);
  return r;
}

SimResponse json_error(int status, std::string_view message) {
  return json_answer(status, json::object{{"ok", false}, {"error", message}});
}

SimResponse html_answer(int status, std::string body) {
  SimResponse r;
  r.status = status;
  r.content_type = "text/html;charset=utf-8";
  r.body = std::move(body);
  return r;
}

std::string json_string(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::object trade_json(const SimTrade& t) {
  json::object o;
  o["out_trade_no"] = t.out_trade_no;
  o["trade_no"] = t.trade_no;
  o["status"] = t.status;
  o["total_amount"] = core::format_yuan(t.amount);
  o["subject"] = t.subject;
  o["app_id"] = t.app_id;
  o["notify_url"] = t.notify_url;
  o["scanned"] = t.scanned;
  if (t.time_expire) o["time_expire"] = pay::format_alipay_time(*t.time_expire);
  // Tests check that money moved once: the refunded total and how many refunds made it.
  o["refunded_amount"] = core::format_yuan(t.refunded);
  o["refund_count"] = static_cast<std::int64_t>(t.refunds.size());
  return o;
}

// biz_content's time_expire: nothing when absent, `bad` when present but not Alipay's format.
std::optional<core::UtcMs> read_time_expire(const json::object& biz, bool& bad) {
  bad = false;
  if (!biz.contains("time_expire")) return std::nullopt;
  auto t = pay::parse_alipay_time(json_string(biz, "time_expire"));
  bad = !t;
  return t;
}

}  // namespace

struct AlipayGatewaySim::Impl {
  pay::RsaSigner ali;
  pay::RsaVerifier app_pub;
  SimClock clock;

  std::mutex mu;
  std::string seller_id;
  std::vector<std::chrono::milliseconds> schedule{
      std::chrono::milliseconds(200), std::chrono::milliseconds(500),
      std::chrono::milliseconds(1000), std::chrono::milliseconds(2000),
      std::chrono::milliseconds(4000)};
  TradeBook trades;
  FaultBook faults;
  std::vector<NotifyAttempt> attempts;
  // Last member: destroyed first, so its thread never sees a dead Impl.
  AlipayNotifier notifier{[this](const NotifyAttempt& a) {
    std::lock_guard lock(mu);
    attempts.push_back(a);
  }};

  Impl(pay::RsaSigner s, pay::RsaVerifier v, std::string seller)
      : ali(std::move(s)), app_pub(std::move(v)), seller_id(std::move(seller)) {}

  // ---- the gateway ----

  // `{"<method>_response":{...},"sign":"..."}` with faults that damage the answer applied.
  SimResponse signed_reply(std::string_view method, const json::object& payload,
                           const std::vector<Fault>& hits, bool error_response = false) {
    json::object answer = payload;
    for (const Fault& f : hits) {
      if (f.kind == FaultKind::OmitField) answer.erase(f.field);
      if (f.kind == FaultKind::SetField) answer[f.field] = f.value;
    }
    const std::string text = json::serialize(answer);
    std::string sign = ali.sign(text);
    bool with_sign = true;
    SimResponse r;
    r.content_type = "text/html;charset=utf-8";  // what the real gateway says for JSON
    for (const Fault& f : hits) {
      if (f.kind == FaultKind::BadSign) sign = ali.sign(text + " ");
      if (f.kind == FaultKind::NoSign) with_sign = false;
      if (f.kind == FaultKind::Latency) r.delay_ms += f.delay_ms;
    }
    const std::string key = error_response ? "error_response" : pay::response_key(method);
    r.body = "{\"" + key + "\":" + text;
    if (with_sign) r.body += ",\"sign\":\"" + sign + "\"";
    r.body += "}";
    for (const Fault& f : hits)
      if (f.kind == FaultKind::Truncate) r.truncate_at = static_cast<long>(r.body.size() / 2);
    return r;
  }

  static json::object failure(std::string_view code, std::string_view msg,
                              std::string_view sub_code, std::string_view sub_msg) {
    return json::object{{"code", code}, {"msg", msg}, {"sub_code", sub_code}, {"sub_msg", sub_msg}};
  }

  bool signature_ok(const Params& params) const {
    const auto sign = pay::find_param(params, "sign");
    if (!sign || pay::find_param(params, "sign_type") != "RSA2") return false;
    // Java signers drop empty values, node keeps them: accept either, as the real gateway does.
    return app_pub.verify(pay::sign_content(params, pay::EmptyValues::Drop), *sign) ||
           app_pub.verify(pay::sign_content(params, pay::EmptyValues::Keep), *sign);
  }

  SimResponse gateway(const SimRequest& req) {
    auto [path, query] = split_target(req.target);
    auto params = pay::form_decode(query);
    if (params && req.method == "POST" && !req.body.empty()) {
      auto body = pay::form_decode(req.body);
      if (!body)
        params.reset();
      else
        params->insert(params->end(), body->begin(), body->end());
    }
    if (!params) return html_answer(400, "malformed form");
    const std::string method = pay::find_param(*params, "method").value_or("");

    std::lock_guard lock(mu);
    const std::vector<Fault> hits = faults.take(method);
    int delay = 0;
    for (const Fault& f : hits) {
      if (f.kind == FaultKind::Hang) return SimResponse{.hang = true};
      if (f.kind == FaultKind::Drop) return SimResponse{.drop = true};
      if (f.kind == FaultKind::HttpError)
        return html_answer(f.status,
                           fmt::format("<html><body>{} simulated</body></html>", f.status));
      if (f.kind == FaultKind::Latency) delay += f.delay_ms;
    }
    if (method.empty())
      return signed_reply(
          method,
          failure("40001", "Missing Required Arguments", "isv.missing-method", "缺少方法名参数"),
          hits, true);
    if (!signature_ok(*params))
      return signed_reply(
          method, failure("40002", "Invalid Arguments", "isv.invalid-signature", "验签出错"), hits);
    for (const Fault& f : hits) {
      if (f.kind == FaultKind::SystemError)
        return signed_reply(
            method, failure("40004", "Business Failed", "ACQ.SYSTEM_ERROR", "系统错误"), hits);
      if (f.kind == FaultKind::BusinessError)
        return signed_reply(
            method, failure("40004", "Business Failed", f.sub_code, "模拟的业务错误"), hits);
    }

    json::object biz;
    if (auto text = pay::find_param(*params, "biz_content")) {
      boost::system::error_code ec;
      auto v = json::parse(*text, ec);
      if (!ec && v.is_object()) biz = v.get_object();
    }
    const std::string out_trade_no = json_string(biz, "out_trade_no");
    const std::string app_id = pay::find_param(*params, "app_id").value_or("");

    if (method == pay::kMethodPagePay) {
      SimResponse r = page_pay(*params, biz, app_id);
      r.delay_ms = delay;
      return r;
    }
    if (method == pay::kMethodPrecreate) return precreate(req, *params, biz, app_id, hits);
    if (method == pay::kMethodQuery || method == pay::kMethodClose) {
      SimTrade* t = trades.find_visible(out_trade_no);
      if (t == nullptr && !json_string(biz, "trade_no").empty()) {
        for (const SimTrade* c : trades.all())
          if (c->trade_no == json_string(biz, "trade_no") && c->scanned)
            t = trades.find_any(c->out_trade_no);
      }
      if (t == nullptr)
        return signed_reply(
            method, failure("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在"), hits);
      close_if_expired(*t, clock.now());
      return method == pay::kMethodQuery ? answer_query(*t, hits) : answer_close(*t, hits);
    }
    if (method == pay::kMethodRefund || method == pay::kMethodRefundQuery) {
      SimTrade* t = trades.find_visible(out_trade_no);
      if (t == nullptr)
        return signed_reply(
            method, failure("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在"), hits);
      return method == pay::kMethodRefund ? answer_refund(*t, biz, hits)
                                          : answer_refund_query(*t, biz, hits);
    }
    return signed_reply(
        method, failure("40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名"), hits,
        true);
  }

  // alipay.trade.refund: idempotent by out_request_no, as Alipay is.
  SimResponse answer_refund(SimTrade& t, const json::object& biz, const std::vector<Fault>& hits) {
    const std::string request_no = json_string(biz, "out_request_no");
    const auto amount = core::parse_yuan(json_string(biz, "refund_amount"));
    if (request_no.empty() || !amount || amount->value <= 0)
      return signed_reply(pay::kMethodRefund,
                          failure("40004", "Business Failed", "ACQ.INVALID_PARAMETER", "参数无效"),
                          hits);
    const bool resend = t.refunds.count(request_no) > 0;
    const bool no_fund_change = std::any_of(
        hits.begin(), hits.end(), [](const Fault& f) { return f.kind == FaultKind::NoFundChange; });
    if (!resend && !no_fund_change) {
      if (t.status == "TRADE_FINISHED")
        return signed_reply(
            pay::kMethodRefund,
            failure("40004", "Business Failed", "ACQ.TRADE_HAS_FINISHED", "交易已完结"), hits);
      if (t.status != "TRADE_SUCCESS")
        return signed_reply(
            pay::kMethodRefund,
            failure("40004", "Business Failed", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法"), hits);
      if (t.refunded.value + amount->value > t.amount.value)
        return signed_reply(
            pay::kMethodRefund,
            failure("40004", "Business Failed", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"),
            hits);
      t.refunds[request_no] = *amount;
      t.refunded.value += amount->value;
      // A fully refunded trade reads TRADE_CLOSED (protocols.md A3).
      if (t.refunded == t.amount) t.status = "TRADE_CLOSED";
    }
    json::object o{
        {"code", "10000"},
        {"msg", "Success"},
        {"buyer_logon_id", kBuyerLogon},
        {"buyer_user_id", kBuyerId},
        {"fund_change", resend || no_fund_change ? "N" : "Y"},
        {"gmt_refund_pay", core::format_wall_time(clock.now(), 8)},
        {"out_trade_no", t.out_trade_no},
        {"refund_fee", core::format_yuan(t.refunded)},
        {"send_back_fee", core::format_yuan(resend || no_fund_change ? core::Fen{0} : *amount)},
        {"trade_no", t.trade_no}};
    return signed_reply(pay::kMethodRefund, o, hits);
  }

  // alipay.trade.fastpay.refund.query: refund_status only for a refund that was made.
  SimResponse answer_refund_query(const SimTrade& t, const json::object& biz,
                                  const std::vector<Fault>& hits) {
    const std::string request_no = json_string(biz, "out_request_no");
    json::object o{{"code", "10000"},
                   {"msg", "Success"},
                   {"out_request_no", request_no},
                   {"out_trade_no", t.out_trade_no},
                   {"total_amount", core::format_yuan(t.amount)},
                   {"trade_no", t.trade_no}};
    if (auto it = t.refunds.find(request_no); it != t.refunds.end()) {
      o["refund_amount"] = core::format_yuan(it->second);
      o["refund_status"] = "REFUND_SUCCESS";
    }
    return signed_reply(pay::kMethodRefundQuery, o, hits);
  }

  SimResponse page_pay(const Params& params, const json::object& biz, const std::string& app_id) {
    const std::string out_trade_no = json_string(biz, "out_trade_no");
    const auto amount = core::parse_yuan(json_string(biz, "total_amount"));
    bool bad_expire = false;
    const auto time_expire = read_time_expire(biz, bad_expire);
    if (out_trade_no.empty() || !amount || bad_expire)
      return html_answer(400, "<p>ACQ.INVALID_PARAMETER</p>");
    SimTrade* t = trades.find_any(out_trade_no);
    if (t == nullptr && expired(time_expire, clock.now()))
      return html_answer(409, "<p>ACQ.TRADE_HAS_CLOSE: time_expire has passed</p>");
    if (t == nullptr) {
      SimTrade n;
      n.out_trade_no = out_trade_no;
      n.amount = *amount;
      n.subject = json_string(biz, "subject");
      n.app_id = app_id;
      n.notify_url = pay::find_param(params, "notify_url").value_or("");
      n.return_url = pay::find_param(params, "return_url").value_or("");
      n.time_expire = time_expire;
      t = &trades.create(std::move(n), clock.now());
    }
    t->scanned = true;
    close_if_expired(*t, clock.now());
    return pay_page(*t);
  }

  SimResponse pay_page(const SimTrade& t) const {
    const std::string e = pay::html_escape(t.out_trade_no);
    std::string html =
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Alipay "
        "(simulated)</title></head>"
        "<body><h1>Alipay (simulated)</h1>";
    html += "<p>Order: <span id=\"out_trade_no\">" + e + "</span></p>";
    html += "<p>Subject: " + pay::html_escape(t.subject) + "</p>";
    html += "<p>Amount: <span id=\"amount\">" + core::format_yuan(t.amount) + "</span> CNY</p>";
    html += "<p>Status: <span id=\"status\">" + t.status + "</span></p>";
    if (t.status == "WAIT_BUYER_PAY") {
      html +=
          "<form method=\"post\" action=\"/sim/alipay/pay\"><input type=\"hidden\" "
          "name=\"out_trade_no\" value=\"" +
          e + "\"><button type=\"submit\" id=\"pay\">Pay</button></form>";
    }
    html += "</body></html>";
    return html_answer(200, html);
  }

  SimResponse precreate(const SimRequest& req, const Params& params, const json::object& biz,
                        const std::string& app_id, const std::vector<Fault>& hits) {
    const std::string out_trade_no = json_string(biz, "out_trade_no");
    const auto amount = core::parse_yuan(json_string(biz, "total_amount"));
    bool bad_expire = false;
    const auto time_expire = read_time_expire(biz, bad_expire);
    if (out_trade_no.empty() || !amount || bad_expire)
      return signed_reply(pay::kMethodPrecreate,
                          failure("40004", "Business Failed", "ACQ.INVALID_PARAMETER", "参数无效"),
                          hits);
    SimTrade* t = trades.find_any(out_trade_no);
    if ((t == nullptr && expired(time_expire, clock.now())) ||
        (t != nullptr && close_if_expired(*t, clock.now())))
      return signed_reply(pay::kMethodPrecreate,
                          failure("40004", "Business Failed", "ACQ.TRADE_HAS_CLOSE", "交易已关闭"),
                          hits);
    if (t != nullptr && t->status != "WAIT_BUYER_PAY")
      return signed_reply(
          pay::kMethodPrecreate,
          failure("40004", "Business Failed", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付"), hits);
    if (t == nullptr) {
      SimTrade n;
      n.out_trade_no = out_trade_no;
      n.amount = *amount;
      n.subject = json_string(biz, "subject");
      n.app_id = app_id;
      n.notify_url = pay::find_param(params, "notify_url").value_or("");
      n.scanned = false;
      n.time_expire = time_expire;
      trades.create(std::move(n), clock.now());
    }
    std::string host = req.header("Host");
    if (host.empty()) host = "127.0.0.1";
    json::object o{{"code", "10000"},
                   {"msg", "Success"},
                   {"out_trade_no", out_trade_no},
                   {"qr_code", "http://" + host + "/sim/alipay/scan?out_trade_no=" +
                                   pay::url_encode(out_trade_no)}};
    return signed_reply(pay::kMethodPrecreate, o, hits);
  }

  SimResponse answer_query(const SimTrade& t, const std::vector<Fault>& hits) {
    const bool paid = t.status == "TRADE_SUCCESS";
    const std::string paid_amount = paid ? core::format_yuan(t.amount) : "0.00";
    json::object o{{"code", "10000"}, {"msg", "Success"}};
    if (paid) {
      o["buyer_logon_id"] = kBuyerLogon;
      o["buyer_user_id"] = kBuyerId;
    }
    o["buyer_pay_amount"] = paid_amount;
    o["invoice_amount"] = paid_amount;
    o["out_trade_no"] = t.out_trade_no;
    o["point_amount"] = "0.00";
    o["receipt_amount"] = paid_amount;
    if (paid && t.paid_at) o["send_pay_date"] = core::format_wall_time(*t.paid_at, 8);
    o["total_amount"] = core::format_yuan(t.amount);
    o["trade_no"] = t.trade_no;
    o["trade_status"] = t.status;
    return signed_reply(pay::kMethodQuery, o, hits);
  }

  SimResponse answer_close(SimTrade& t, const std::vector<Fault>& hits) {
    if (t.status != "WAIT_BUYER_PAY")
      return signed_reply(
          pay::kMethodClose,
          failure("40004", "Business Failed", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法"), hits);
    t.status = "TRADE_CLOSED";
    json::object o{{"code", "10000"},
                   {"msg", "Success"},
                   {"out_trade_no", t.out_trade_no},
                   {"trade_no", t.trade_no}};
    return signed_reply(pay::kMethodClose, o, hits);
  }

  // ---- buyer actions and notifies (mu held) ----

  void send_notify(const SimTrade& t) {
    if (t.notify_url.empty()) return;
    const core::UtcMs now = clock.now();
    const std::string amount = core::format_yuan(t.amount);
    const bool paid = t.status == "TRADE_SUCCESS";
    Params p = {
        {"gmt_create", core::format_wall_time(t.created, 8)},
        {"charset", "utf-8"},
        {"seller_email", "seller@example.com"},
        {"subject", t.subject},
        {"buyer_id", std::string(kBuyerId)},
        {"invoice_amount", paid ? amount : "0.00"},
        {"notify_id", t.notify_id},
        {"fund_bill_list", "[{\"amount\":\"" + amount + "\",\"fundChannel\":\"ALIPAYACCOUNT\"}]"},
        {"notify_type", "trade_status_sync"},
        {"trade_status", t.status},
        {"receipt_amount", paid ? amount : "0.00"},
        {"app_id", t.app_id},
        {"buyer_pay_amount", paid ? amount : "0.00"},
        {"seller_id", seller_id}};
    if (t.paid_at) p.emplace_back("gmt_payment", core::format_wall_time(*t.paid_at, 8));
    p.insert(p.end(), {{"notify_time", core::format_wall_time(now, 8)},
                       {"version", "1.0"},
                       {"out_trade_no", t.out_trade_no},
                       {"total_amount", amount},
                       {"trade_no", t.trade_no},
                       {"auth_app_id", t.app_id},
                       {"point_amount", "0.00"}});
    std::erase_if(p, [](const auto& kv) { return kv.second.empty(); });
    notifier.send(t.out_trade_no, t.notify_url, pay::sign_notify_body(std::move(p), ali), schedule);
  }

  void mark_paid(SimTrade& t) {
    t.status = "TRADE_SUCCESS";
    t.paid_at = clock.now();
  }

  static std::string param_of(const SimRequest& req, std::string_view key) {
    auto [path, query] = split_target(req.target);
    if (auto q = pay::form_decode(query))
      if (auto v = pay::find_param(*q, key)) return *v;
    if (req.header("Content-Type").find("json") != std::string::npos) {
      boost::system::error_code ec;
      auto v = json::parse(req.body, ec);
      if (!ec && v.is_object()) return json_string(v.get_object(), key);
      return {};
    }
    if (auto b = pay::form_decode(req.body))
      if (auto v = pay::find_param(*b, key)) return *v;
    return {};
  }

  SimResponse buyer_pay(const SimRequest& req) {
    const bool wants_json = req.header("Content-Type").find("json") != std::string::npos;
    std::lock_guard lock(mu);
    SimTrade* t = trades.find_visible(param_of(req, "out_trade_no"));
    if (t == nullptr)
      return wants_json ? json_error(404, "no such trade")
                        : html_answer(404, "<p>ACQ.TRADE_NOT_EXIST</p>");
    if (close_if_expired(*t, clock.now()))
      return wants_json ? json_error(409, "trade closed") : html_answer(409, "<p>Trade closed</p>");
    if (t->status == "WAIT_BUYER_PAY") {
      mark_paid(*t);
      send_notify(*t);
    }
    if (wants_json) return json_answer(200, json::object{{"ok", true}, {"trade", trade_json(*t)}});
    std::string html =
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Paid</title></head><body>"
        "<h1>Payment done</h1><p>Order: " +
        pay::html_escape(t->out_trade_no) + "</p><p>Status: <span id=\"status\">" + t->status +
        "</span></p>";
    if (!t->return_url.empty()) {
      const char sep = t->return_url.find('?') == std::string::npos ? '?' : '&';
      html += "<p><a id=\"return\" href=\"" +
              pay::html_escape(t->return_url + sep +
                               "out_trade_no=" + pay::url_encode(t->out_trade_no)) +
              "\">Back to the shop</a></p>";
    }
    return html_answer(200, html + "</body></html>");
  }

  SimResponse scan(const SimRequest& req) {
    std::lock_guard lock(mu);
    SimTrade* t = trades.find_any(param_of(req, "out_trade_no"));
    if (t == nullptr)
      return req.method == "GET" ? html_answer(404, "<p>Unknown QR code</p>")
                                 : json_error(404, "no such trade");
    t->scanned = true;
    close_if_expired(*t, clock.now());
    if (req.method == "GET") return pay_page(*t);
    return json_answer(200, json::object{{"ok", true}, {"trade", trade_json(*t)}});
  }

  // ---- control API ----

  SimResponse control(const SimRequest& req, const std::string& path) {
    json::object body;
    if (req.method == "POST" && !req.body.empty()) {
      boost::system::error_code ec;
      auto v = json::parse(req.body, ec);
      if (ec || !v.is_object()) return json_error(400, "body must be a JSON object");
      body = v.get_object();
    }
    std::lock_guard lock(mu);
    if (path == "/sim/alipay/reset") {
      trades.clear();
      faults.clear();
      attempts.clear();
      notifier.cancel_all();
      clock.unpin();
      return json_answer(200, json::object{{"ok", true}});
    }
    if (path == "/sim/alipay/clock") return set_clock(req.method, body);
    if (path == "/sim/alipay/trades") {
      json::array a;
      for (const SimTrade* t : trades.all()) a.push_back(trade_json(*t));
      return json_answer(200, json::object{{"ok", true}, {"trades", a}});
    }
    if (path == "/sim/alipay/trade" && req.method == "GET") {
      const SimTrade* t = trades.find_any(param_of(req, "out_trade_no"));
      if (t == nullptr) return json_error(404, "no such trade");
      return json_answer(200, json::object{{"ok", true}, {"trade", trade_json(*t)}});
    }
    if (path == "/sim/alipay/trade") return set_trade(body);
    if (path == "/sim/alipay/notify") {
      const SimTrade* t = trades.find_any(json_string(body, "out_trade_no"));
      if (t == nullptr) return json_error(404, "no such trade");
      if (t->notify_url.empty()) return json_error(409, "trade has no notify_url");
      send_notify(*t);
      return json_answer(200, json::object{{"ok", true}});
    }
    if (path == "/sim/alipay/notifies") {
      json::array a;
      for (const auto& n : attempts)
        a.push_back(json::object{{"out_trade_no", n.out_trade_no},
                                 {"url", n.url},
                                 {"attempt", n.attempt},
                                 {"status", n.status},
                                 {"reply", n.reply},
                                 {"ok", n.ok}});
      return json_answer(200, json::object{{"ok", true}, {"notifies", a}});
    }
    if (path == "/sim/alipay/fault") {
      const auto kind = parse_fault_kind(json_string(body, "kind"));
      if (!kind) return json_error(400, "unknown fault kind");
      Fault f;
      f.kind = *kind;
      if (auto m = json_string(body, "method"); !m.empty()) f.method = m;
      if (auto* c = body.if_contains("count"); c && c->is_int64())
        f.remaining = static_cast<int>(c->as_int64());
      if (auto* d = body.if_contains("delay_ms"); d && d->is_int64())
        f.delay_ms = static_cast<int>(d->as_int64());
      if (auto* s = body.if_contains("status"); s && s->is_int64())
        f.status = static_cast<int>(s->as_int64());
      f.sub_code = json_string(body, "sub_code");
      f.field = json_string(body, "field");
      f.value = json_string(body, "value");
      if (f.kind == FaultKind::BusinessError && f.sub_code.empty())
        return json_error(400, "business_error takes a sub_code");
      if ((f.kind == FaultKind::OmitField || f.kind == FaultKind::SetField) && f.field.empty())
        return json_error(400, "omit_field and set_field take a field");
      faults.add(f);
      return json_answer(200, json::object{{"ok", true}});
    }
    if (path == "/sim/alipay/faults/clear") {
      faults.clear();
      return json_answer(200, json::object{{"ok", true}});
    }
    if (path == "/sim/alipay/config") {
      if (auto s = json_string(body, "seller_id"); !s.empty()) seller_id = s;
      if (auto* a = body.if_contains("notify_schedule_ms"); a && a->is_array()) {
        schedule.clear();
        for (const auto& v : a->get_array())
          if (v.is_int64()) schedule.emplace_back(v.as_int64());
      }
      return json_answer(200, json::object{{"ok", true}});
    }
    return json_error(404, "unknown control endpoint");
  }

  SimResponse set_clock(const std::string& method, const json::object& body) {
    if (method == "POST") {
      if (auto* v = body.if_contains("now_ms"); v && v->is_int64()) {
        clock.pin(core::UtcMs{v->as_int64()});
      } else if (auto* d = body.if_contains("advance_ms"); d && d->is_int64()) {
        clock.advance(core::Millis{d->as_int64()});
      } else if (auto* y = body.if_contains("system"); y && y->is_bool() && y->as_bool()) {
        clock.unpin();
      } else {
        return json_error(400, "give now_ms, advance_ms or system:true");
      }
    }
    return json_answer(200, json::object{{"ok", true},
                                         {"now_ms", clock.now().ms},
                                         {"now", pay::format_alipay_time(clock.now())},
                                         {"pinned", clock.pinned()}});
  }

  SimResponse set_trade(const json::object& body) {
    const std::string out_trade_no = json_string(body, "out_trade_no");
    if (out_trade_no.empty()) return json_error(400, "out_trade_no required");
    std::optional<core::Fen> amount;
    if (body.contains("total_amount")) {
      amount = core::parse_yuan(json_string(body, "total_amount"));
      if (!amount) return json_error(400, "total_amount must be a yuan string like \"9.99\"");
    }
    const std::string status = json_string(body, "status");
    if (!status.empty() && status != "WAIT_BUYER_PAY" && status != "TRADE_SUCCESS" &&
        status != "TRADE_CLOSED" && status != "TRADE_FINISHED")
      return json_error(400, "unknown status");
    SimTrade* t = trades.find_any(out_trade_no);
    if (t == nullptr) {
      if (!amount) return json_error(400, "total_amount required for a new trade");
      SimTrade n;
      n.out_trade_no = out_trade_no;
      n.amount = *amount;
      n.subject = "simulated trade";
      t = &trades.create(std::move(n), clock.now());
    }
    t->scanned = true;
    if (amount) t->amount = *amount;
    // Tests whose orders carry a trade_no of their own make the sim's trade agree with it.
    if (auto trade_no = json_string(body, "trade_no"); !trade_no.empty()) t->trade_no = trade_no;
    for (auto [key, field] :
         {std::pair{"subject", &SimTrade::subject}, std::pair{"app_id", &SimTrade::app_id},
          std::pair{"notify_url", &SimTrade::notify_url},
          std::pair{"return_url", &SimTrade::return_url}})
      if (body.contains(key)) t->*field = json_string(body, key);
    if (!status.empty() && status != t->status) {
      t->status = status;
      if (status == "TRADE_SUCCESS" || status == "TRADE_FINISHED") t->paid_at = clock.now();
    }
    if (auto* n = body.if_contains("notify"); n && n->is_bool() && n->as_bool()) {
      if (t->notify_url.empty()) return json_error(409, "trade has no notify_url");
      send_notify(*t);
    }
    return json_answer(200, json::object{{"ok", true}, {"trade", trade_json(*t)}});
  }
};

AlipayGatewaySim::AlipayGatewaySim(const AlipaySimOptions& options) {
  auto ali = pay::RsaSigner::from_text(read_key(options.alipay_private_key_path));
  if (!ali)
    throw std::runtime_error("alipay sim: bad Alipay private key " +
                             options.alipay_private_key_path);
  auto app = pay::RsaVerifier::from_text(read_key(options.app_public_key_path));
  if (!app)
    throw std::runtime_error("alipay sim: bad app public key " + options.app_public_key_path);
  impl_ = std::make_unique<Impl>(std::move(*ali), std::move(*app), options.seller_id);
}

AlipayGatewaySim::~AlipayGatewaySim() = default;

bool AlipayGatewaySim::handles(const SimRequest& request) const {
  const std::string path = split_target(request.target).first;
  return path == "/gateway.do" || path.rfind("/sim/alipay/", 0) == 0;
}

SimResponse AlipayGatewaySim::handle(const SimRequest& request) {
  const std::string path = split_target(request.target).first;
  if (path == "/gateway.do") return impl_->gateway(request);
  if (path == "/sim/alipay/pay") return impl_->buyer_pay(request);
  if (path == "/sim/alipay/scan") return impl_->scan(request);
  return impl_->control(request, path);
}

}  // namespace chatglmd::sim
