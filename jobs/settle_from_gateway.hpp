#pragma once
// What the jobs do with a gateway answer, shared by timeout-close, reconcile and the admin
// `order close` / `order reconcile` commands.
#include "jobs/job.hpp"

namespace chatglmd::pay {
struct TradeQueryResult;
}

namespace chatglmd::jobs {

// Gateway confirmed the trade is closed: CREATED -> CLOSED here.
ItemResult close_locally(JobContext& ctx, const core::Order& order, core::Cause cause,
                         const std::string& detail);

// Gateway said ACQ.TRADE_NOT_EXIST: CREATED -> CLOSED here, and in the same transaction a
// follow-up query after the order's time_expire (until then Alipay could still create the trade
// and take the money; the close-followup job asks).
ItemResult close_on_not_exist(JobContext& ctx, const core::Order& order, core::Cause cause,
                              const std::string& detail);

// Acts on a trade.query answer: Paid -> settle (PAID + deliver), Closed -> close here,
// NotExist -> close here (close_on_not_exist) only when `close_if_not_exist`, Waiting -> leave,
// Unclear -> retry.
ItemResult settle_from_query(JobContext& ctx, const core::Order& order, core::Cause cause,
                             const pay::TradeQueryResult& q, bool close_if_not_exist);

// Closes at the gateway first, then here; a paid trade is settled instead (timeout-close and
// the admin `order close`).
ItemResult close_via_gateway(JobContext& ctx, const core::Order& order, core::Cause cause);

ItemResult describe_query_for_dry_run(const pay::TradeQueryResult& q, std::string_view otherwise);

}  // namespace chatglmd::jobs
