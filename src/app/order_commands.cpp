// order show/list/close/reconcile/refund.
#include <fmt/format.h>

#include <random>
#include <set>

#include "app/context.hpp"
#include "app/output.hpp"
#include "core/money.hpp"
#include "jobs/backoff.hpp"
#include "jobs/refunds.hpp"
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

// EX_TEMPFAIL: the refund is requested and its answer unclear; the refund-query job finishes it.
constexpr int kExitRefundQueued = 75;
// Alipay's limit on refund_reason.
constexpr std::size_t kMaxRefundReason = 256;

Record refund_record(const store::Refund& r) {
  return {{"refundId", r.refund_id.c_str()},
          {"refundStatus", std::string(core::name_of(r.status)).c_str()},
          {"refundAmount", core::format_yuan(r.amount).c_str()},
          {"refundAmountFen", r.amount.value},
          {"quotaRevoked", r.quota_revoked},
          {"refundReason", r.reason.c_str()},
          {"refundCause", r.cause.c_str()},
          {"refundAttempts", r.attempts},
          {"refundLastError", r.last_error.c_str()},
          {"refundRequestedAt", utc_time_value(r.requested_at)},
          {"refundDecidedAt", utc_time_value(r.decided_at)}};
}

int refuse_refund(CommandContext& ctx, const core::Order& order, const store::Refund* refund) {
  if (refund && refund->status == core::RefundStatus::Succeeded) {
    ctx.err << fmt::format("chatglmd: order {} is refunded already ({})\n", order.order_id,
                           refund->refund_id);
  } else if (refund && refund->status == core::RefundStatus::Failed) {
    ctx.err << fmt::format(
        "chatglmd: the refund of order {} failed for good ({}); an order is refunded once\n",
        order.order_id, refund->last_error);
  } else {
    ctx.err << fmt::format(
        "chatglmd: order {} is {}; only a DELIVERED or PAID order can be refunded\n",
        order.order_id, core::name_of(order.state));
  }
  return kExitFailed;
}

// What `order refund --dry-run` would do; reads only.
int refund_dry_run(CommandContext& ctx, store::Store& s, const core::Order& order,
                   const std::optional<store::Refund>& refund) {
  if (refund && refund->status != core::RefundStatus::Requested)
    return refuse_refund(ctx, order, &*refund);
  if (!refund && !core::next_transition(order.state, core::OrderEvent::RefundConfirmed))
    return refuse_refund(ctx, order, nullptr);
  Record rec = order_record(order);
  if (refund) {
    for (auto& f : refund_record(*refund)) rec.push_back(std::move(f));
    rec.push_back({"result", "would ask Alipay about the requested refund and finish it"});
  } else {
    std::int64_t revoke = 0;
    if (order.state == core::OrderState::Delivered) {
      if (auto account = s.accounts().get(order.openid))
        revoke = core::quota_to_revoke(order.quota, account->surplus_quota);
    }
    rec.push_back({"result", fmt::format("would refund {} and take back {} quota from {}",
                                         core::format_yuan(order.amount), revoke, order.openid)
                                 .c_str()});
  }
  print_record(ctx.out, rec, ctx.inv.json);
  return kExitOk;
}

// Sends (or, for a refund requested before, settles) the refund and prints what was decided.
// Alipay may have moved the money once this starts: any store error is reported as unclear and
// queued (75), never as failed (1), because the refund-query job still finishes the refund.
int finish_refund(CommandContext& ctx, store::Store& s, pay::PaymentGateway& gateway,
                  const store::Refund& refund, bool fresh) {
  jobs::JobContext jc{ctx.clock, s, gateway, {}};
  try {
    // A retry asks first, as the refund-query job does: an earlier send may have refunded and
    // the query decides without another call; only a refund Alipay does not know is sent again
    // (the same out_request_no).
    auto result = fresh ? jobs::send_refund(jc, refund, core::Cause::Admin)
                        : jobs::settle_refund(jc, refund, core::Cause::Admin);
    if (result.status == jobs::ItemStatus::Unclear) {
      std::mt19937_64 rng{std::random_device{}()};
      s.refunds().record_failure(
          refund.order_id, result.detail,
          ctx.clock.now() + jobs::backoff_delay(refund.attempts + 1,
                                                std::uniform_real_distribution<double>(0, 1)(rng)));
    }
    auto after = s.refunds().get(refund.order_id);
    Record rec = order_record(*s.orders().get(refund.order_id));
    for (auto& f : refund_record(*after)) rec.push_back(std::move(f));
    rec.push_back({"result", result.detail.c_str()});
    print_record(ctx.out, rec, ctx.inv.json);
    switch (after->status) {
      case core::RefundStatus::Succeeded:
        return kExitOk;
      case core::RefundStatus::Failed:
        return kExitFailed;
      case core::RefundStatus::Requested:
        break;
    }
    ctx.err << fmt::format(
        "chatglmd: the answer about refund {} was unclear; its quota stays revoked and the "
        "refund-query job finishes it\n",
        refund.refund_id);
  } catch (const std::exception& e) {
    ctx.err << fmt::format(
        "chatglmd: refund {} is unclear: the store failed after Alipay was called ({}); its quota "
        "stays revoked and the refund-query job finishes it\n",
        refund.refund_id, e.what());
  }
  return kExitRefundQueued;
}

int refund_action(CommandContext& ctx, store::Store& s, const core::Order& order) {
  const std::string reason = ctx.inv.flags.count("reason") ? ctx.inv.flags.at("reason") : "";
  if (reason.size() > kMaxRefundReason)
    return usage_error(ctx, fmt::format("--reason takes at most {} bytes", kMaxRefundReason));
  auto refund = s.refunds().get(order.order_id);
  if (ctx.inv.flags.count("dry-run")) return refund_dry_run(ctx, s, order, refund);
  if (refund && refund->status != core::RefundStatus::Requested)
    return refuse_refund(ctx, order, &*refund);
  if (!refund && !core::next_transition(order.state, core::OrderEvent::RefundConfirmed))
    return refuse_refund(ctx, order, nullptr);
  // The gateway first: a configuration that cannot call Alipay must not revoke anything.
  pay::PaymentGateway* gateway = ctx.open_gateway();
  if (!gateway) return kExitUsage;
  bool fresh = false;
  if (!refund) {
    auto r = s.refunds().request(order.order_id, reason, core::Cause::Admin, ctx.clock.now(),
                                 ctx.clock.now());
    if (r.outcome == store::RefundRequestOutcome::NotRefundable ||
        r.outcome == store::RefundRequestOutcome::UnknownOrder) {
      core::Order now_order = order;
      now_order.state = r.state;
      return refuse_refund(ctx, now_order, nullptr);
    }
    refund = r.refund;
    if (refund->status != core::RefundStatus::Requested) return refuse_refund(ctx, order, &*refund);
    fresh = r.outcome == store::RefundRequestOutcome::Requested;
  }
  return finish_refund(ctx, s, *gateway, *refund, fresh);
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
  jc.late_payment = ctx.config.alipay.late_payment;
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
        return usage_error(ctx, "--status takes created, paid, delivered, closed, refunded or 0-4");
    }
    if (ctx.inv.flags.count("user")) f.openid = ctx.inv.flags.at("user");
    if (ctx.inv.flags.count("limit")) {
      auto n = limit_flag(ctx);
      if (!n) return usage_error(ctx, "--limit must be a whole number > 0");
      f.limit = *n;
    }
    store::Store* s = ctx.open_store();
    if (!s) return kExitUsage;
    std::vector<Record> rows;
    for (const auto& o : s->orders().list(f)) rows.push_back(order_record(o));
    print_table(ctx.out, rows, ctx.inv.json);
    return kExitOk;
  }
  if (sub == "show" || sub == "close" || sub == "reconcile" || sub == "refund") {
    const std::set<std::string> flags =
        sub == "refund" ? std::set<std::string>{"reason", "dry-run"} : std::set<std::string>{};
    if (auto e = check_shape(ctx.inv, 3, 3, flags); !e.empty()) return usage_error(ctx, e);
    store::Store* s = ctx.open_store();
    if (!s) return kExitUsage;
    auto order = s->orders().get(w[2]);
    if (!order) {
      ctx.err << "chatglmd: no order " << w[2] << "\n";
      return kExitFailed;
    }
    if (sub == "refund") return refund_action(ctx, *s, *order);
    if (sub != "show") return gateway_action(ctx, *s, *order, sub == "close");
    Record rec = order_record(*order);
    const auto refund = s->refunds().get(order->order_id);
    boost::json::array refunds;
    if (refund) {
      boost::json::object r;
      for (auto& f : refund_record(*refund)) r[f.key] = f.value;
      refunds.push_back(std::move(r));
    }
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
      rec.push_back({"refunds", refunds});
      print_record(ctx.out, rec, true);
    } else {
      print_record(ctx.out, rec, false);
      ctx.out << "\nevents:\n";
      for (const auto& e : s->orders().events(order->order_id)) {
        ctx.out << fmt::format("  {}  {} -> {}  {}  {}\n", core::format_wall_time(e.at, 0),
                               e.from ? core::name_of(*e.from) : "-", core::name_of(e.to), e.cause,
                               e.detail);
      }
      if (refund) {
        ctx.out << "\nrefunds:\n";
        ctx.out << fmt::format("  {}  {}  {} yuan  {} quota taken back  attempts {}  {}\n",
                               refund->refund_id, core::name_of(refund->status),
                               core::format_yuan(refund->amount), refund->quota_revoked,
                               refund->attempts, refund->last_error);
      }
    }
    return kExitOk;
  }
  return usage_error(ctx, "order takes show, list, close, reconcile or refund");
}

}  // namespace chatglmd::app
