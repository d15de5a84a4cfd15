#include "jobs/settle_from_gateway.hpp"

#include <fmt/format.h>

#include "jobs/settlement.hpp"
#include "pay/alipay_time.hpp"
#include "pay/payment_gateway.hpp"

namespace chatglmd::jobs {

using QueryKind = pay::TradeQueryResult::Kind;

namespace {

ItemResult close_result(const store::TransitionResult& r) {
  switch (r.outcome) {
    case store::TransitionOutcome::Applied:
      return {ItemStatus::Done, "closed"};
    case store::TransitionOutcome::Refused:
      // A notify moved it meanwhile (paid): the payment wins, nothing to close.
      return {ItemStatus::Skipped, fmt::format("now {}", core::name_of(r.state))};
    default:
      return {ItemStatus::Skipped, "order vanished"};
  }
}

}  // namespace

ItemResult close_locally(JobContext& ctx, const core::Order& order, core::Cause cause,
                         const std::string& detail) {
  store::TransitionResult r;
  ctx.write([&] {
    r = ctx.store.orders().apply(order.order_id, core::OrderEvent::CloseConfirmed, cause, detail,
                                 ctx.clock.now());
  });
  return close_result(r);
}

ItemResult close_on_not_exist(JobContext& ctx, const core::Order& order, core::Cause cause,
                              const std::string& detail) {
  const core::UtcMs now = ctx.clock.now();
  store::TransitionResult r;
  // One transaction: a CLOSED order is never left without its follow-up.
  ctx.write([&] {
    r = ctx.store.orders().apply(order.order_id, core::OrderEvent::CloseConfirmed, cause, detail,
                                 now);
    if (r.outcome == store::TransitionOutcome::Applied)
      ctx.store.orders().add_close_followup(
          order.order_id, pay::time_expire_of(order.order_time, ctx.close_after), now);
  });
  return close_result(r);
}

ItemResult settle_from_query(JobContext& ctx, const core::Order& order, core::Cause cause,
                             const pay::TradeQueryResult& q, bool close_if_not_exist) {
  switch (q.kind) {
    case QueryKind::Paid: {
      auto s = settle_payment(ctx.store,
                              PaymentConfirmation{order.order_id, q.trade_no, q.amount,
                                                  q.paid_at.value_or(ctx.clock.now())},
                              cause, ctx.clock.now(), ctx.late_payment, ctx.writer());
      if (s.outcome == SettleOutcome::AmountMismatch)
        return {ItemStatus::Unclear, fmt::format("paid amount {} fen != order {} fen",
                                                 q.amount.value, order.amount.value)};
      return {ItemStatus::Done, fmt::format("paid ({}){}", name_of(s.outcome),
                                            s.late_payment ? ", late payment" : "")};
    }
    case QueryKind::Closed:
      return close_locally(ctx, order, cause, "gateway: TRADE_CLOSED");
    case QueryKind::NotExist:
      if (close_if_not_exist)
        return close_on_not_exist(ctx, order, cause, "gateway: TRADE_NOT_EXIST");
      return {ItemStatus::Done, "no trade at the gateway yet"};
    case QueryKind::Waiting:
      return {ItemStatus::Done, "waiting for the buyer"};
    case QueryKind::Unclear:
      break;
  }
  return {ItemStatus::Unclear, fmt::format("query unclear: {}", q.detail)};
}

ItemResult close_via_gateway(JobContext& ctx, const core::Order& order, core::Cause cause) {
  using CloseKind = pay::TradeCloseResult::Kind;
  auto closed = ctx.gateway.close(order.order_id);
  switch (closed.kind) {
    case CloseKind::Closed:
      return close_locally(ctx, order, cause, closed.detail);
    case CloseKind::NotExist:
      return close_on_not_exist(ctx, order, cause, closed.detail);
    case CloseKind::StatusError: {
      // Not WAIT_BUYER_PAY any more: paid (deliver) or closed there (close here). Ask.
      auto q = ctx.gateway.query(order.order_id);
      if (q.kind == QueryKind::Waiting || q.kind == QueryKind::NotExist)
        return {ItemStatus::Unclear,
                fmt::format("close said status error, query said {}", q.detail)};
      return settle_from_query(ctx, order, cause, q, /*close_if_not_exist=*/false);
    }
    case CloseKind::Unclear:
      break;
  }
  return {ItemStatus::Unclear, fmt::format("close unclear: {}", closed.detail)};
}

ItemResult describe_query_for_dry_run(const pay::TradeQueryResult& q, std::string_view otherwise) {
  switch (q.kind) {
    case QueryKind::Paid:
      return {ItemStatus::Done, "would mark paid and deliver"};
    case QueryKind::Closed:
      return {ItemStatus::Done, "would close (closed at the gateway)"};
    case QueryKind::NotExist:
    case QueryKind::Waiting:
      return {ItemStatus::Done, fmt::format("would {}", otherwise)};
    case QueryKind::Unclear:
      break;
  }
  return {ItemStatus::Unclear, fmt::format("query unclear: {}", q.detail)};
}

}  // namespace chatglmd::jobs
