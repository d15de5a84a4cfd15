// order show/list/close/reconcile.
#include <fmt/format.h>

#include "app/context.hpp"
#include "app/output.hpp"
#include "core/money.hpp"
#include "jobs/settle_from_gateway.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::app {
namespace {

Record order_record(const core::Order& o) {
  return {{"orderId", o.order_id.c_str()},
          {"openid", o.openid.c_str()},
          {"productId", o.product_id},
          {"status", std::string(core::name_of(o.state)).c_str()},
          {"orderStatus", static_cast<int>(o.state)},
          {"payStatus", core::pay_status_of(o.state)},
          {"amount", core::format_yuan(o.amount).c_str()},
          {"amountFen", o.amount.value},
          {"orderTime", utc_time_value(o.order_time)},
          {"payTime", utc_time_value(o.pay_time)},
          {"tradeNo", o.trade_no.c_str()},
          {"attempts", o.attempts},
          {"lastError", o.last_error.c_str()}};
}

int gateway_action(CommandContext& ctx, store::Store& s, const core::Order& order, bool close) {
  // A CLOSED order may have been paid after all (the buyer paid after the close and the notify
  // was lost): reconcile asks the gateway and settles a real payment as a late one.
  const bool allowed = order.state == core::OrderState::Created ||
                       (!close && order.state == core::OrderState::Closed);
  if (!allowed) {
    ctx.err << fmt::format("chatglmd: order {} is {}; only a {} order can be {}\n", order.order_id,
                           core::name_of(order.state), close ? "CREATED" : "CREATED or CLOSED",
                           close ? "closed" : "reconciled");
    return kExitFailed;
  }
  pay::PaymentGateway* gateway = ctx.open_gateway();
  if (!gateway) return kExitUsage;
  jobs::JobContext jc{ctx.clock, s, *gateway, {}};
  jc.close_after = ctx.config.jobs.at("timeout-close").after;  // a close's follow-up timing
  auto r = close ? jobs::close_via_gateway(jc, order, core::Cause::Admin)
                 : jobs::settle_from_query(jc, order, core::Cause::Admin,
                                           gateway->query(order.order_id), false);
  auto after = s.orders().get(order.order_id);
  Record rec = order_record(*after);
  rec.push_back({"result", r.detail.c_str()});
  print_record(ctx.out, rec, ctx.inv.json);
  // An unclear gateway answer changed nothing: the admin should try again later.
  return r.status == jobs::ItemStatus::Unclear ? kExitFailed : kExitOk;
}

}  // namespace

int run_order_command(CommandContext& ctx) {
  const auto& w = ctx.inv.words;
  const std::string sub = w.size() > 1 ? w[1] : "";
  if (sub == "list") {
    if (auto e = check_shape(ctx.inv, 2, 2, {"status", "user", "limit"}); !e.empty())
      return usage_error(ctx, e);
    store::OrderFilter f;
    if (ctx.inv.flags.count("status")) {
      f.state = core::parse_order_state(ctx.inv.flags.at("status"));
      if (!f.state)
        return usage_error(ctx, "--status takes created, paid, delivered, closed or 0-3");
    }
    if (ctx.inv.flags.count("user")) f.openid = ctx.inv.flags.at("user");
    if (ctx.inv.flags.count("limit")) {
      auto n = limit_flag(ctx);
      if (!n) return usage_error(ctx, "--limit must be a whole number > 0");
      f.limit = *n;
    }
    store::Store* s = ctx.open_store();
    if (!s) return kExitFailed;
    std::vector<Record> rows;
    for (const auto& o : s->orders().list(f)) rows.push_back(order_record(o));
    print_table(ctx.out, rows, ctx.inv.json);
    return kExitOk;
  }
  if (sub == "show" || sub == "close" || sub == "reconcile") {
    if (auto e = check_shape(ctx.inv, 3, 3, {}); !e.empty()) return usage_error(ctx, e);
    store::Store* s = ctx.open_store();
    if (!s) return kExitFailed;
    auto order = s->orders().get(w[2]);
    if (!order) {
      ctx.err << "chatglmd: no order " << w[2] << "\n";
      return kExitFailed;
    }
    if (sub != "show") return gateway_action(ctx, *s, *order, sub == "close");
    Record rec = order_record(*order);
    boost::json::array events;
    for (const auto& e : s->orders().events(order->order_id)) {
      events.push_back(boost::json::object{
          {"from", e.from ? boost::json::value(std::string(core::name_of(*e.from)))
                          : boost::json::value(nullptr)},
          {"to", std::string(core::name_of(e.to))},
          {"cause", e.cause},
          {"detail", e.detail},
          {"at", utc_time_value(e.at)}});
    }
    if (ctx.inv.json) {
      rec.push_back({"events", events});
      print_record(ctx.out, rec, true);
    } else {
      print_record(ctx.out, rec, false);
      ctx.out << "\nevents:\n";
      for (const auto& e : s->orders().events(order->order_id)) {
        ctx.out << fmt::format("  {}  {} -> {}  {}  {}\n", core::format_wall_time(e.at, 0),
                               e.from ? core::name_of(*e.from) : "-", core::name_of(e.to), e.cause,
                               e.detail);
      }
    }
    return kExitOk;
  }
  return usage_error(ctx, "order takes show, list, close or reconcile");
}

}  // namespace chatglmd::app
