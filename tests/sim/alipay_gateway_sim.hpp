#pragma once
// The fake Alipay gateway of chatglmd-sim. It checks our request signatures with the app public
// key, signs its answers with the "Alipay" key, keeps trades in memory, and sends signed notifies.
//
// Gateway (what chatglmd and the SDK talk to):
//   POST /gateway.do                 alipay.trade.precreate | query | close | refund |
//                                    fastpay.refund.query (form body + signed
//   query) GET|POST /gateway.do             alipay.trade.page.pay: HTML pay page with a "Pay"
//   button
// Buyer actions (HTML, what a browser or the QR "scan" opens):
//   POST /sim/alipay/pay             form or JSON {out_trade_no}: TRADE_SUCCESS + notify to
//   notify_url GET  /sim/alipay/scan?out_trade_no=X   scan a precreate QR: the trade now exists,
//   shows the pay page
// Control API (JSON in, JSON out):
//   POST /sim/alipay/reset                 forget trades, faults, notify log; cancel pending
//   notifies GET  /sim/alipay/trades                all trades GET /sim/alipay/trade?out_trade_no=X
//   one trade (404 when unknown) POST /sim/alipay/trade   {out_trade_no, total_amount?, status?,
//   subject?, notify_url?, app_id?, trade_no?,
//                             notify?: bool}  create or change a trade (exists at once, scanned);
//                            notify:true sends a notify for its new state
//   POST /sim/alipay/scan    {out_trade_no}   a precreate trade becomes visible (WAIT_BUYER_PAY)
//   POST /sim/alipay/notify  {out_trade_no}   (re)send the notify for the trade's current state
//   GET  /sim/alipay/notifies              every notify attempt: url, attempt, status, reply, ok
//   POST /sim/alipay/fault   {kind, method?: "alipay.trade.query" | "*" (default), count?: N
//                             (default 0 = permanent), delay_ms?, status?, sub_code?, field?,
//                             value?}
//        kind: latency (a normal answer, delay_ms after the request arrived) | hang | drop |
//        http_error (status, default
//              502) | system_error (40004 ACQ.SYSTEM_ERROR) | bad_sign | no_sign | truncate |
//              business_error (sub_code: a signed 40004 with it; the call does nothing) |
//              no_fund_change (a refund answers fund_change N and moves no money) |
//              omit_field (field: left out of the signed answer) |
//              set_field (field, value: the signed answer says value)
//   Refunds are idempotent by out_request_no (a resend answers fund_change N); a trade set to
//   TRADE_FINISHED refuses them (ACQ.TRADE_HAS_FINISHED); trades show refunded_amount and
//   refund_count so tests can check that money moved once. A latency fault on
//   alipay.trade.refund answers late AFTER the refund was made (a timeout that refunded).
//   POST /sim/alipay/faults/clear
//   POST /sim/alipay/config  {seller_id?, notify_schedule_ms?: [200, 500, ...]}
//   GET|POST /sim/alipay/clock  {now_ms: N} pins the sim's clock, {advance_ms: N} moves it,
//                            {system: true} follows the host again (also on reset)
// time_expire (biz_content of page pay and precreate, Beijing time): past it no trade is created
// and a waiting trade closes (page pay 409, precreate ACQ.TRADE_HAS_CLOSE, pay 409, query
// TRADE_CLOSED), judged on the sim's clock.
// Notifies: POSTed with Alipay's malformed Content-Type; retried on anything but `success` after
// each delay of notify_schedule_ms (default 200, 500, 1000, 2000, 4000 ms), same notify_id.
#include <memory>
#include <string>

#include "sim_http.hpp"

namespace chatglmd::sim {

struct AlipaySimOptions {
  std::string alipay_private_key_path;  // signs answers and notifies (tests/fixtures/ali_pkcs1.pem)
  std::string app_public_key_path;      // verifies our requests (tests/fixtures/app_pub.pem)
  std::string seller_id = "2088102177649450";
};

class AlipayGatewaySim {
 public:
  // Throws std::runtime_error when a key does not load: the sim cannot run without them.
  explicit AlipayGatewaySim(const AlipaySimOptions& options);
  ~AlipayGatewaySim();
  AlipayGatewaySim(const AlipayGatewaySim&) = delete;
  AlipayGatewaySim& operator=(const AlipayGatewaySim&) = delete;

  bool handles(const SimRequest& request) const;
  // Thread-safe; never blocks on the network (notifies go out on the sim's own io thread).
  SimResponse handle(const SimRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatglmd::sim
