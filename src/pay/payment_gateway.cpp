#include "pay/payment_gateway.hpp"

#include <future>

namespace chatglmd::pay {

namespace {
// Runs an async call and waits for its completion on the calling thread.
template <typename Result, typename Start>
Result wait_for(Start start) {
  std::promise<Result> promise;
  auto future = promise.get_future();
  start([&promise](Result r) { promise.set_value(std::move(r)); });
  return future.get();
}
}  // namespace

PreparedCall<TradeQueryResult> PaymentGateway::prepare_query(const std::string& order_id) {
  return [this, order_id](std::function<void(TradeQueryResult)> done) {
    async_query(order_id, std::move(done));
  };
}

PreparedCall<TradeCloseResult> PaymentGateway::prepare_close(const std::string& order_id) {
  return [this, order_id](std::function<void(TradeCloseResult)> done) {
    async_close(order_id, std::move(done));
  };
}

TradeQueryResult PaymentGateway::query(const std::string& order_id) {
  return wait_for<TradeQueryResult>([&](auto done) { async_query(order_id, done); });
}

TradeCloseResult PaymentGateway::close(const std::string& order_id) {
  return wait_for<TradeCloseResult>([&](auto done) { async_close(order_id, done); });
}

PayFormResult PaymentGateway::create_pay_form(const core::Order& order) {
  return wait_for<PayFormResult>([&](auto done) { async_create_pay_form(order, done); });
}

void PaymentGateway::async_refund(const RefundRequest&, std::function<void(RefundResult)> done) {
  done(RefundResult{RefundResult::Kind::Unclear, {}, "this gateway does not refund"});
}

void PaymentGateway::async_refund_query(const RefundRequest&,
                                        std::function<void(RefundQueryResult)> done) {
  done(RefundQueryResult{RefundQueryResult::Kind::Unclear, {}, "this gateway does not refund"});
}

RefundResult PaymentGateway::refund(const RefundRequest& request) {
  return wait_for<RefundResult>([&](auto done) { async_refund(request, done); });
}

RefundQueryResult PaymentGateway::refund_query(const RefundRequest& request) {
  return wait_for<RefundQueryResult>([&](auto done) { async_refund_query(request, done); });
}

}  // namespace chatglmd::pay
