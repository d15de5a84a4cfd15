#include "jobs/gateway_slots.hpp"

namespace chatglmd::jobs {

void GatewaySlots::async_query(const std::string& order_id,
                               std::function<void(pay::TradeQueryResult)> done) {
  with_slot(std::move(done),
            [&](auto slot_done) { inner_.async_query(order_id, std::move(slot_done)); });
}

void GatewaySlots::async_close(const std::string& order_id,
                               std::function<void(pay::TradeCloseResult)> done) {
  with_slot(std::move(done),
            [&](auto slot_done) { inner_.async_close(order_id, std::move(slot_done)); });
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
