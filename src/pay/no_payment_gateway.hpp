#pragma once
// The gateway of a host without [alipay] app_id: every call answers Unclear (nothing changes),
// so the jobs that never ask Alipay (chat-log-prune) run there with the same JobContext.
#include "pay/payment_gateway.hpp"

namespace chatglmd::pay {

class NoPaymentGateway final : public PaymentGateway {
 public:
  void async_query(const std::string&, std::function<void(TradeQueryResult)> done) override {
    TradeQueryResult r;
    r.detail = kWhy;
    done(std::move(r));
  }
  void async_close(const std::string&, std::function<void(TradeCloseResult)> done) override {
    TradeCloseResult r;
    r.detail = kWhy;
    done(std::move(r));
  }
  void async_create_pay_form(const core::Order&, std::function<void(PayFormResult)> done) override {
    PayFormResult r;
    r.detail = kWhy;
    done(std::move(r));
  }

 private:
  static constexpr const char* kWhy = "alipay.app_id is not set";
};

}  // namespace chatglmd::pay
