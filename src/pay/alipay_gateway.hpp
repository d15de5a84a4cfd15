#pragma once
// PaymentGateway over the Alipay OpenAPI v1 gateway.
#include <memory>
#include <string>
#include <variant>

#include "core/time.hpp"
#include "net/http_client.hpp"
#include "pay/alipay_config.hpp"
#include "pay/alipay_notify.hpp"
#include "pay/alipay_request.hpp"
#include "pay/payment_gateway.hpp"
#include "pay/rsa.hpp"

namespace chatglmd::pay {

struct ReplyCheck;

class AlipayGateway final : public PaymentGateway {
 public:
  // A config whose keys do not load is an operator error, reported as text (no key material).
  static std::variant<std::unique_ptr<AlipayGateway>, std::string> create(
      const AlipayConfig& config, net::HttpClient& client, const core::Clock& clock);

  void async_query(const std::string& order_id,
                   std::function<void(TradeQueryResult)> done) override;
  void async_close(const std::string& order_id,
                   std::function<void(TradeCloseResult)> done) override;
  void async_create_pay_form(const core::Order& order,
                             std::function<void(PayFormResult)> done) override;
  // The request is built and signed here, the call made by the function returned.
  PreparedCall<TradeQueryResult> prepare_query(const std::string& order_id) override;
  PreparedCall<TradeCloseResult> prepare_close(const std::string& order_id) override;
  void async_refund(const RefundRequest& request, std::function<void(RefundResult)> done) override;
  void async_refund_query(const RefundRequest& request,
                          std::function<void(RefundQueryResult)> done) override;

  // Notify checks with this gateway's keys and identity, for the notify endpoint.
  ParsedNotify parse_notify(std::string_view body) const;
  NotifyVerdict check_notify(const ParsedNotify& notify, const core::Order* order) const;

  const AlipayRequestBuilder& requests() const { return builder_; }

 private:
  AlipayGateway(const AlipayConfig& config, RsaSigner signer, RsaVerifier verifier,
                net::HttpClient& client, const core::Clock& clock);
  net::Timeouts timeouts() const;
  // A signed request for one order, sent when the returned call runs; its answer checked and
  // read by `interpret` (interpret_query, interpret_close).
  template <typename Result>
  PreparedCall<Result> prepared(net::HttpRequest request, std::string_view method,
                                std::string order_id,
                                Result (*interpret)(const ReplyCheck&, std::string_view));

  AlipayRequestBuilder builder_;
  RsaVerifier alipay_key_;
  net::HttpClient& client_;
};

}  // namespace chatglmd::pay
