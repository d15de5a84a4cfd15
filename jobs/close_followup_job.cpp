#include "jobs/close_followup_job.hpp"

#include <fmt/format.h>

#include "jobs/settle_from_gateway.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::jobs {

namespace {

using QueryKind = pay::TradeQueryResult::Kind;
using CloseKind = pay::TradeCloseResult::Kind;

// An answer after which no payment can come: count it and never ask again.
ItemResult stop_asking(JobContext& ctx, const core::Order& order, const std::string& answer,
                       std::string detail) {
  ctx.write(
      [&] { ctx.store.orders().record_close_followup(order.order_id, answer, std::nullopt); });
  return {ItemStatus::Done, std::move(detail)};
}

void record_paid(JobContext& ctx, const core::Order& order) {
  ctx.write(
      [&] { ctx.store.orders().record_close_followup(order.order_id, "paid", std::nullopt); });
}

// A clear answer that found no payment: count it and ask again tomorrow, or stop.
ItemResult no_payment_yet(JobContext& ctx, const core::Order& order, const std::string& answer) {
  const auto followup = ctx.store.orders().close_followup(order.order_id);
  const int asked = (followup ? followup->queries_done : 0) + 1;
  const auto next = next_close_followup(asked, ctx.clock.now());
  ctx.write([&] { ctx.store.orders().record_close_followup(order.order_id, answer, next); });
  return {ItemStatus::Done, fmt::format("no payment ({}), asked {} time(s){}", answer, asked,
                                        next ? ", asking again tomorrow" : ", not asking again")};
}

// The trade exists and still waits for the buyer past time_expire (a gateway that ignored it, or
// clocks apart): we closed the order, so close the trade too; a payment that beat us is settled.
ItemResult close_waiting_trade(JobContext& ctx, const core::Order& order) {
  auto closed = ctx.gateway.close(order.order_id);
  if (closed.kind == CloseKind::Closed)
    return stop_asking(ctx, order, "WAIT_BUYER_PAY, closed it",
                       "closed the trade still waiting at the gateway");
  if (closed.kind == CloseKind::StatusError) {
    auto q = ctx.gateway.query(order.order_id);
    if (q.kind == QueryKind::Paid) {
      auto r = settle_from_query(ctx, order, core::Cause::Reconcile, q, false);
      if (r.status == ItemStatus::Done) record_paid(ctx, order);
      return r;
    }
    if (q.kind == QueryKind::Closed)
      return stop_asking(ctx, order, "TRADE_CLOSED", "trade closed at the gateway");
  }
  return {ItemStatus::Unclear, fmt::format("closing the waiting trade: {}", closed.detail)};
}

}  // namespace

std::optional<core::UtcMs> next_close_followup(int asked, core::UtcMs now) {
  if (asked > kCloseFollowupDays) return std::nullopt;
  return now + kCloseFollowupEvery;
}

JobSettings CloseFollowupJob::defaults() const {
  JobSettings s;
  s.interval = std::chrono::minutes(1);
  // Past time_expire: room for a payment made at the last second and for clocks apart.
  s.after = std::chrono::minutes(5);
  return s;
}

std::vector<core::Order> CloseFollowupJob::select_due(JobContext& ctx, std::int64_t after_id,
                                                      int limit) {
  const auto now = ctx.clock.now();
  return ctx.store.orders().due_close_followups(now - ctx.settings.after, now, after_id, limit);
}

store::OrderRepository::Backlog CloseFollowupJob::backlog(JobContext& ctx) {
  return ctx.store.orders().backlog_close_followups(ctx.clock.now() - ctx.settings.after);
}

ItemResult CloseFollowupJob::handle(JobContext& ctx, const core::Order& order) {
  if (order.state != core::OrderState::Closed) {
    // A notify or an admin reconcile found the payment meanwhile: nothing left to ask.
    if (!ctx.dry_run)
      ctx.write([&] {
        ctx.store.orders().record_close_followup(
            order.order_id, fmt::format("order is {}", core::name_of(order.state)), std::nullopt);
      });
    return {ItemStatus::Skipped, fmt::format("now {}", core::name_of(order.state))};
  }
  auto q = ctx.gateway.query(order.order_id);
  if (ctx.dry_run) return describe_query_for_dry_run(q, "ask again later");
  switch (q.kind) {
    case QueryKind::Paid: {
      // Settled as a late payment (CLOSED -> PAID -> DELIVERED), counted once it committed.
      auto r = settle_from_query(ctx, order, core::Cause::Reconcile, q, false);
      if (r.status == ItemStatus::Done) record_paid(ctx, order);
      return r;
    }
    case QueryKind::NotExist:
      return no_payment_yet(ctx, order, "TRADE_NOT_EXIST");
    case QueryKind::Closed:
      // Closed at the gateway: it can take no money any more.
      return stop_asking(ctx, order, "TRADE_CLOSED", "trade closed at the gateway");
    case QueryKind::Waiting:
      return close_waiting_trade(ctx, order);
    case QueryKind::Unclear:
      break;
  }
  return {ItemStatus::Unclear, fmt::format("query unclear: {}", q.detail)};
}

}  // namespace chatglmd::jobs
