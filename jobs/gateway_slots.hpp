#pragma once
// The gateway as a tick's workers see it: at most `slots` calls in flight, from the call to its
// answer. A query or close is signed before its slot is taken (PaymentGateway::prepare_*), so a
// freed slot goes to a call that is ready to go. A worker whose call has answered goes on to wait
// for its outcome's commit outside the bound, so the tick can run more workers than `concurrency`
// and keep that many calls going while others commit.
#include <atomic>
#include <memory>
#include <semaphore>

#include "pay/payment_gateway.hpp"

namespace chatglmd::jobs {

class GatewaySlots final : public pay::PaymentGateway {
 public:
  GatewaySlots(pay::PaymentGateway& inner, int slots) : inner_(inner), free_(slots) {}

  void async_query(const std::string& order_id,
                   std::function<void(pay::TradeQueryResult)> done) override;
  void async_close(const std::string& order_id,
                   std::function<void(pay::TradeCloseResult)> done) override;
  void async_create_pay_form(const core::Order& order,
                             std::function<void(pay::PayFormResult)> done) override;
  void async_refund(const pay::RefundRequest& request,
                    std::function<void(pay::RefundResult)> done) override;
  void async_refund_query(const pay::RefundRequest& request,
                          std::function<void(pay::RefundQueryResult)> done) override;

 private:
  // Blocks the calling worker until a slot is free, then starts `call` with a completion that
  // gives the slot back (also when the call throws before it could complete).
  template <typename Result, typename Call>
  void with_slot(std::function<void(Result)> done, Call call) {
    free_.acquire();
    auto held = std::make_shared<std::atomic<bool>>(true);
    auto give_back = [this, held] {
      if (held->exchange(false)) free_.release();
    };
    try {
      call([give_back, done = std::move(done)](Result r) {
        give_back();
        done(std::move(r));
      });
    } catch (...) {
      give_back();
      throw;
    }
  }

  pay::PaymentGateway& inner_;
  std::counting_semaphore<> free_;
};

}  // namespace chatglmd::jobs
