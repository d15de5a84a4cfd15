// Products, pay orders and the account's quota.
#include <boost/json.hpp>
#include <charconv>
#include <memory>
#include <mutex>
#include <optional>

#include "core/order_id.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/product_catalogue.hpp"
#include "pay/payment_gateway.hpp"
#include "store/store.hpp"

namespace chatglmd::http {

namespace {

inline constexpr int kOrderIdAttempts = 3;

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

struct OrderIds {
  std::mutex mutex;
  core::OrderIdGenerator generator;
  std::string next() {
    std::lock_guard lock(mutex);
    return generator.next();
  }
};

}  // namespace

void register_sale_routes(Router& router, const AppServices& s) {
  if (s.catalogue) {
    // From memory, on the io thread: a stamp check that never waits, no hop to the worker pool.
    router.add_sync("GET", "/api/v1/sale/query_product_list",
                    [s](const Request&) { return *s.catalogue->checked_answer(); });
  } else {
    router.add_blocking("GET", "/api/v1/sale/query_product_list", [s](const Request&) {
      if (!s.store) return not_configured("the store");
      return product_list_answer(s.store->products().list(true));
    });
  }

  auto ids = std::make_shared<OrderIds>();
  // Store work runs on the worker pool; the gateway call (a precreate round trip to Alipay) is
  // asynchronous, so a slow gateway never holds a worker that logins and chats need.
  router.add("POST", "/api/v1/sale/create_pay_order", [s, ids](ExchangePtr ex) {
    ex->run_blocking([s, ids, ex] {
      const Request& req = ex->request();
      if (!s.store || !s.gateway) return ex->respond(not_configured("payment"));
      auto openid = authenticate(req, s);
      if (!openid) return ex->respond(envelope(code::not_authorised, "not logged in"));
      auto form = req.form();
      std::string id_text = form ? form->get_or("productId") : "";
      auto product_id = parse_id(id_text);
      if (!product_id) return ex->respond(envelope(code::bad_parameter, "productId is required"));
      auto product = s.store->products().get(*product_id);
      if (!product) return ex->respond(envelope(code::bad_parameter, "no such product"));
      if (!product->enabled)
        return ex->respond(envelope(code::product_offline, "product is offline"));

      core::UtcMs now = now_of(s);
      // Reuse an unpaid order while Alipay will still take the money for a while (DESIGN).
      // Find-or-create in one write transaction: a double click (two requests at once) gets
      // one order, not two.
      std::optional<core::Order> order;
      s.store->in_transaction([&] {
        order = s.store->orders().find_reusable(*openid, *product_id,
                                                now - (s.settings.close_after - kReuseMargin));
        if (order) return;
        core::Order fresh;
        fresh.openid = *openid;
        fresh.product_id = product->product_id;
        fresh.product_name = product->name;
        fresh.quota = product->quota;
        fresh.model_types = product->model_types;
        fresh.state = core::OrderState::Created;
        fresh.amount = product->price;
        fresh.order_time = now;
        fresh.next_attempt_at = now;
        for (int i = 0; i < kOrderIdAttempts && !order; ++i) {
          fresh.order_id = ids->next();
          if (s.store->orders().insert(fresh, now)) order = fresh;
        }
      });
      if (!order)
        return ex->respond(envelope(code::unknown_error, "could not create the order, try again"));
      if (!order->pay_info.empty())
        return ex->respond(envelope_ok(boost::json::string(order->pay_info)));
      // A gateway failure leaves the order CREATED without pay info; the next request retries.
      s.gateway->async_create_pay_form(
          *order, [s, ex, order_id = order->order_id](pay::PayFormResult r) {
            if (!r.ok)
              return ex->respond(
                  envelope(code::unknown_error, "payment service unavailable, try again"));
            ex->run_blocking([s, ex, order_id, data = std::move(r.data)] {
              s.store->orders().set_pay_info(order_id, data, now_of(s));
              ex->respond(envelope_ok(boost::json::string(data)));
            });
          });
    });
  });

  router.add_blocking("POST", "/api/v1/account/query_account_quota", [s](const Request& req) {
    if (!s.store) return not_configured("the store");
    auto openid = authenticate(req, s);
    if (!openid) return envelope(code::not_authorised, "not logged in");
    auto account = s.store->accounts().get(*openid);
    boost::json::object data;
    data["totalQuota"] = account ? account->total_quota : 0;
    data["surplusQuota"] = account ? account->surplus_quota : 0;
    data["modelTypes"] = account ? account->model_types : "";
    data["status"] = account ? static_cast<int>(account->status) : 0;
    return envelope_ok(std::move(data));
  });
}

}  // namespace chatglmd::http
