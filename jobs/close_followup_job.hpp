#pragma once
#include <optional>

#include "jobs/job.hpp"

namespace chatglmd::jobs {

// How often a closed order is asked about after the first follow-up: once a day, this many days.
inline constexpr int kCloseFollowupDays = 7;
inline constexpr core::Millis kCloseFollowupEvery{std::chrono::hours(24)};

// When to ask again after `asked` clear answers (the first is the one after time_expire), or
// never again.
std::optional<core::UtcMs> next_close_followup(int asked, core::UtcMs now);

// Orders closed here on ACQ.TRADE_NOT_EXIST (timeout-close, `order close`). Until the order's
// time_expire Alipay could still create the trade and take the money, and the notify of such a
// payment can be lost. So ask once `after` past time_expire, then once a day for
// kCloseFollowupDays days: a real payment is delivered as a late payment, a trade still waiting
// is closed at Alipay, a closed trade ends the follow-up.
class CloseFollowupJob final : public Job {
 public:
  std::string_view name() const override { return "close-followup"; }
  std::string_view summary() const override {
    return "ask Alipay again about orders closed before their trade existed";
  }
  JobSettings defaults() const override;
  std::vector<core::Order> select_due(JobContext& ctx, std::int64_t after_id, int limit) override;
  store::OrderRepository::Backlog backlog(JobContext& ctx) override;
  ItemResult handle(JobContext& ctx, const core::Order& order) override;
};

}  // namespace chatglmd::jobs
