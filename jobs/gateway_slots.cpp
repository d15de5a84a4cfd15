#include "jobs/gateway_slots.hpp"

namespace chatglmd::jobs {

void GatewaySlots::take_slot() {
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [this] { return free_ > 0; });
  --free_;
}

void GatewaySlots::give_slot_back() {
  {
    std::lock_guard lock(mutex_);
    ++free_;
  }
  freed_.notify_one();
}

void GatewaySlots::async_query(const std::string& order_id,
                               std::function<void(pay::TradeQueryResult)> done) {
  // Signed before the slot is taken: a slot is held only while the gateway has the call.
  auto send = inner_.prepare_query(order_id);
  with_slot(std::move(done), [&](auto slot_done) { send(std::move(slot_done)); });
}

void GatewaySlots::async_close(const std::string& order_id,
                               std::function<void(pay::TradeCloseResult)> done) {
  auto send = inner_.prepare_close(order_id);
  with_slot(std::move(done), [&](auto slot_done) { send(std::move(slot_done)); });
}

void GatewaySlots::async_create_pay_form(const core::Order& order,
                                         std::function<void(pay::PayFormResult)> done) {
  with_slot(std::move(done),
            [&](auto slot_done) { inner_.async_create_pay_form(order, std::move(slot_done)); });
}

void GatewaySlots::async_refund(const pay::RefundRequest& request,
                                std::function<void(pay::RefundResult)> done) {
  with_slot(std::move(done),
            [&](auto slot_done) { inner_.async_refund(request, std::move(slot_done)); });
}

void GatewaySlots::async_refund_query(const pay::RefundRequest& request,
                                      std::function<void(pay::RefundQueryResult)> done) {
  with_slot(std::move(done),
            [&](auto slot_done) { inner_.async_refund_query(request, std::move(slot_done)); });
}

}  // namespace chatglmd::jobs
