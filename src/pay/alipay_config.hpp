#pragma once
// What the Alipay adapter needs from [alipay] in the config file. Keys are the loaded text of the
// key files (never logged).
#include <chrono>
#include <string>

#include "core/time.hpp"

namespace chatglmd::pay {

enum class PayMode {
  Page,       // alipay.trade.page.pay: we hand the browser an auto-submit form, no server call
  Precreate,  // alipay.trade.precreate: server call, we hand out the QR URL
};

struct AlipayConfig {
  std::string gateway = "https://openapi.alipay.com/gateway.do";
  std::string app_id;
  std::string private_key;        // app private key: PKCS#1/PKCS#8, PEM or bare base64
  std::string alipay_public_key;  // Alipay public key: PEM or bare base64 SPKI
  std::string seller_id;          // expected merchant PID in notifies; empty = not checked
  std::string notify_url;
  std::string return_url;
  PayMode mode = PayMode::Page;
  std::chrono::milliseconds timeout{10000};  // per gateway call (connect, write, first byte, idle)
  // [jobs.timeout-close] after: pay requests carry time_expire = order time + this, so Alipay
  // stops taking money when we stop waiting.
  core::Millis close_after{std::chrono::minutes(30)};
};

}  // namespace chatglmd::pay
