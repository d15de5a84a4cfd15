#include "pay/alipay_notify.hpp"

#include <algorithm>

#include "pay/alipay_time.hpp"

namespace chatglmd::pay {

std::string notify_sign_content(const Params& params, EmptyValues empties) {
  Params p = params;
  std::erase_if(p, [](const auto& kv) { return kv.first == "sign_type"; });
  return sign_content(std::move(p), empties);
}

std::string sign_notify_body(Params params, const RsaSigner& alipay_private_key) {
  std::erase_if(params,
                [](const auto& kv) { return kv.first == "sign" || kv.first == "sign_type"; });
  const std::string sign = alipay_private_key.sign(notify_sign_content(params, EmptyValues::Drop));
  params.emplace_back("sign", sign);
  params.emplace_back("sign_type", "RSA2");
  return form_encode(params);
}

ParsedNotify parse_notify(std::string_view body, const RsaVerifier& alipay_key) {
  ParsedNotify n;
  auto params = form_decode(body);
  if (!params) return n;
  n.well_formed = true;
  n.params = std::move(*params);

  auto get = [&](std::string_view k) { return find_param(n.params, k).value_or(""); };
  NotifyFields& f = n.fields;
  f.notify_id = get("notify_id");
  f.app_id = get("app_id");
  f.seller_id = get("seller_id");
  f.out_trade_no = get("out_trade_no");
  f.trade_no = get("trade_no");
  f.trade_status = get("trade_status");
  f.total_amount_text = get("total_amount");
  f.total_amount = core::parse_yuan(f.total_amount_text);
  f.gmt_payment = parse_alipay_time(get("gmt_payment"));

  const std::string sign = get("sign");
  // We verify SHA256withRSA only; a notify that says otherwise (or lost its tail) is not ours.
  if (sign.empty() || get("sign_type") != "RSA2") return n;
  n.signature_ok = alipay_key.verify(notify_sign_content(n.params, EmptyValues::Drop), sign);
  // Current Java drops empty values, older signers kept them (node does): try both.
  const bool had_empties = std::any_of(n.params.begin(), n.params.end(), [](const auto& kv) {
    return kv.second.empty() && kv.first != "sign" && kv.first != "sign_type";
  });
  if (!n.signature_ok && had_empties)
    n.signature_ok = alipay_key.verify(notify_sign_content(n.params, EmptyValues::Keep), sign);
  return n;
}

std::string_view name_of(NotifyVerdict v) {
  switch (v) {
    case NotifyVerdict::Ok:
      return "ok";
    case NotifyVerdict::BadSignature:
      return "bad_signature";
    case NotifyVerdict::WrongApp:
      return "wrong_app";
    case NotifyVerdict::WrongSeller:
      return "wrong_seller";
    case NotifyVerdict::UnknownOrder:
      return "unknown_order";
    case NotifyVerdict::WrongAmount:
      return "wrong_amount";
    case NotifyVerdict::NotPaidStatus:
      return "not_paid_status";
    case NotifyVerdict::Closed:
      return "closed";
  }
  return "unknown";
}

NotifyVerdict check_notify(const ParsedNotify& notify, const MerchantIdentity& merchant,
                           const core::Order* order) {
  if (!notify.well_formed || !notify.signature_ok) return NotifyVerdict::BadSignature;
  const NotifyFields& f = notify.fields;
  if (f.app_id != merchant.app_id) return NotifyVerdict::WrongApp;
  if (!merchant.seller_id.empty() && f.seller_id != merchant.seller_id)
    return NotifyVerdict::WrongSeller;
  if (order == nullptr || order->order_id != f.out_trade_no) return NotifyVerdict::UnknownOrder;
  if (!f.total_amount || *f.total_amount != order->amount) return NotifyVerdict::WrongAmount;
  if (f.trade_status == "TRADE_SUCCESS" || f.trade_status == "TRADE_FINISHED")
    return NotifyVerdict::Ok;
  if (f.trade_status == "TRADE_CLOSED") return NotifyVerdict::Closed;
  return NotifyVerdict::NotPaidStatus;
}

}  // namespace chatglmd::pay
