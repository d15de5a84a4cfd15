#include "pay/alipay_gateway.hpp"

#include "pay/alipay_refund.hpp"
#include "pay/alipay_response.hpp"

namespace chatglmd::pay {

namespace {

// A network failure names the gateway: "connect: Connection refused" alone does not say to what.
ReplyCheck check_fetch(const net::FetchResult& fetched, std::string_view method,
                       const RsaVerifier& key, const std::string& gateway) {
  if (!fetched.ok())
    return {std::nullopt, "alipay gateway " + gateway + ": " + fetched.error.message};
  return verify_reply(fetched.response->status, fetched.response->body, method, key);
}

}  // namespace

std::variant<std::unique_ptr<AlipayGateway>, std::string> AlipayGateway::create(
    const AlipayConfig& config, net::HttpClient& client, const core::Clock& clock) {
  auto signer = RsaSigner::from_text(config.private_key);
  if (!signer) return std::string("alipay private key is not a PKCS#1/PKCS#8 RSA key");
  auto verifier = RsaVerifier::from_text(config.alipay_public_key);
  if (!verifier) return std::string("alipay public key is not an RSA public key");
  if (config.app_id.empty()) return std::string("alipay app_id is empty");
  return std::unique_ptr<AlipayGateway>(
      new AlipayGateway(config, std::move(*signer), std::move(*verifier), client, clock));
}

AlipayGateway::AlipayGateway(const AlipayConfig& config, RsaSigner signer, RsaVerifier verifier,
                             net::HttpClient& client, const core::Clock& clock)
    : builder_(config, std::move(signer), clock),
      alipay_key_(std::move(verifier)),
      client_(client) {}

net::Timeouts AlipayGateway::timeouts() const {
  const auto t = builder_.config().timeout;
  return net::Timeouts{t, t, t, t};
}

void AlipayGateway::async_query(const std::string& order_id,
                                std::function<void(TradeQueryResult)> done) {
  prepare_query(order_id)(std::move(done));
}

void AlipayGateway::async_close(const std::string& order_id,
                                std::function<void(TradeCloseResult)> done) {
  prepare_close(order_id)(std::move(done));
}

template <typename Result>
PreparedCall<Result> AlipayGateway::prepared(net::HttpRequest request, std::string_view method,
                                             std::string order_id,
                                             Result (*interpret)(const ReplyCheck&,
                                                                 std::string_view)) {
  return [this, method, interpret, order_id = std::move(order_id),
          request = std::move(request)](std::function<void(Result)> done) {
    client_.async_fetch(
        request, timeouts(),
        [this, method, interpret, order_id, done = std::move(done)](net::FetchResult fetched) {
          done(interpret(check_fetch(fetched, method, alipay_key_, builder_.config().gateway),
                         order_id));
        });
  };
}

PreparedCall<TradeQueryResult> AlipayGateway::prepare_query(const std::string& order_id) {
  return prepared(builder_.query(order_id), kMethodQuery, order_id, &interpret_query);
}

PreparedCall<TradeCloseResult> AlipayGateway::prepare_close(const std::string& order_id) {
  return prepared(builder_.close(order_id), kMethodClose, order_id, &interpret_close);
}

void AlipayGateway::async_create_pay_form(const core::Order& order,
                                          std::function<void(PayFormResult)> done) {
  if (builder_.config().mode == PayMode::Page) {
    // page.pay needs no server call: the browser carries the signed form to Alipay.
    done(PayFormResult{true, builder_.page_pay_form(order), ""});
    return;
  }
  client_.async_fetch(
      builder_.precreate(order), timeouts(),
      [this, order_id = order.order_id, done = std::move(done)](net::FetchResult fetched) {
        done(interpret_precreate(
            check_fetch(fetched, kMethodPrecreate, alipay_key_, builder_.config().gateway),
            order_id));
      });
}

void AlipayGateway::async_refund(const RefundRequest& request,
                                 std::function<void(RefundResult)> done) {
  client_.async_fetch(
      builder_.refund(request), timeouts(),
      [this, request, done = std::move(done)](net::FetchResult fetched) {
        done(interpret_refund(
            check_fetch(fetched, kMethodRefund, alipay_key_, builder_.config().gateway), request));
      });
}

void AlipayGateway::async_refund_query(const RefundRequest& request,
                                       std::function<void(RefundQueryResult)> done) {
  client_.async_fetch(
      builder_.refund_query(request.out_trade_no, request.out_request_no), timeouts(),
      [this, request, done = std::move(done)](net::FetchResult fetched) {
        done(interpret_refund_query(
            check_fetch(fetched, kMethodRefundQuery, alipay_key_, builder_.config().gateway),
            request));
      });
}

ParsedNotify AlipayGateway::parse_notify(std::string_view body) const {
  return pay::parse_notify(body, alipay_key_);
}

NotifyVerdict AlipayGateway::check_notify(const ParsedNotify& notify,
                                          const core::Order* order) const {
  const auto& c = builder_.config();
  return pay::check_notify(notify, MerchantIdentity{c.app_id, c.seller_id}, order);
}

}  // namespace chatglmd::pay
