#pragma once
// The gateway as a tick's workers see it: at most `slots` calls in flight, from the call to its
// answer. A query or close is signed before its slot is taken (PaymentGateway::prepare_*), so a
// freed slot goes to a call that is ready to go. A worker whose call has answered goes on to wait
// for its outcome's commit outside the bound, so the tick can run more workers than `concurrency`
// and keep that many calls going while others commit.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "pay/payment_gateway.hpp"

namespace chatglmd::jobs {

class GatewaySlots final : public pay::PaymentGateway {
 public:
  GatewaySlots(pay::PaymentGateway& inner, int slots) : inner_(inner), free_(slots) {}
  GatewaySlots(const GatewaySlots&) = delete;
  GatewaySlots& operator=(const GatewaySlots&) = delete;

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
    take_slot();
    auto held = std::make_shared<std::atomic<bool>>(true);
    auto give_back = [this, held] {
      if (held->exchange(false)) give_slot_back();
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

  void take_slot();
  void give_slot_back();

  pay::PaymentGateway& inner_;
  // A mutex and a condition, not std::counting_semaphore: libstdc++ 12's semaphore wakes every
  // waiter on each release and each spins through sched_yield before sleeping again; with 2C
  // workers that was 22 sched_yield and 13 futex calls per close at C = 64.
  std::mutex mutex_;
  std::condition_variable freed_;
  int free_;
};

}  // namespace chatglmd::jobs
