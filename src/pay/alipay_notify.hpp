#pragma once
// Asynchronous payment notifications (protocols.md A4): verify the signature, then the merchant
// checks. Both steps are pure; saving the notify and moving the order belong to the store.
#include <optional>
#include <string>
#include <string_view>

#include "core/money.hpp"
#include "core/order.hpp"
#include "core/time.hpp"
#include "pay/alipay_params.hpp"
#include "pay/rsa.hpp"

namespace chatglmd::pay {

struct NotifyFields {
  std::string notify_id;
  std::string app_id;
  std::string seller_id;
  std::string out_trade_no;
  std::string trade_no;
  std::string trade_status;
  std::string total_amount_text;          // as sent, for the pay_notify row
  std::optional<core::Fen> total_amount;  // nullopt when not a valid yuan amount
  std::optional<core::UtcMs> gmt_payment;
};

struct ParsedNotify {
  bool well_formed = false;   // the body decoded as a form
  bool signature_ok = false;  // SHA256withRSA with the Alipay public key checked out
  NotifyFields fields;        // filled whenever well_formed (untrusted unless signature_ok)
  Params params;              // every decoded field, wire order
};

// Alipay sends "application/x-www-form-urlencoded; text/html; charset=utf-8", which strict
// parsers refuse; we ignore the header and decode the body once (`+` -> space).
ParsedNotify parse_notify(std::string_view body, const RsaVerifier& alipay_key);

// The string that is signed: without sign and sign_type, empties dropped or kept, sorted.
std::string notify_sign_content(const Params& params, EmptyValues empties);

// Alipay's side of the same rule: signs `params` (sign/sign_type ignored), appends sign and
// sign_type=RSA2, form-encodes. For the simulator and the tests.
std::string sign_notify_body(Params params, const RsaSigner& alipay_private_key);

enum class NotifyVerdict {
  Ok,             // verified, ours, amount matches, TRADE_SUCCESS or TRADE_FINISHED
  BadSignature,   // unsigned, forged, altered or truncated
  WrongApp,       // app_id is not ours
  WrongSeller,    // seller_id differs from the configured merchant PID
  UnknownOrder,   // no local order with that out_trade_no
  WrongAmount,    // total_amount differs from the order amount (integer fen) or is unreadable
  NotPaidStatus,  // WAIT_BUYER_PAY (or a status we do not know): nothing to do
  Closed,         // TRADE_CLOSED
};

std::string_view name_of(NotifyVerdict v);

struct MerchantIdentity {
  std::string app_id;
  std::string seller_id;  // empty: not checked
};

// `order` is the local order with fields.out_trade_no, or nullptr when there is none.
NotifyVerdict check_notify(const ParsedNotify& notify, const MerchantIdentity& merchant,
                           const core::Order* order);

}  // namespace chatglmd::pay
