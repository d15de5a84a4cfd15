#include "alipay_sim_trades.hpp"

#include <fmt/format.h>

namespace chatglmd::sim {

SimTrade* TradeBook::find_any(std::string_view out_trade_no) {
  auto it = trades_.find(out_trade_no);
  return it == trades_.end() ? nullptr : &it->second;
}

SimTrade* TradeBook::find_visible(std::string_view out_trade_no) {
  SimTrade* t = find_any(out_trade_no);
  return t != nullptr && t->scanned ? t : nullptr;
}

SimTrade& TradeBook::create(SimTrade trade, core::UtcMs now) {
  const long seq = next_seq_++;
  // Shaped like real ones: date, channel digits, sequence.
  const std::string day = core::format_wall_time(now, 8).substr(0, 10);
  const std::string ymd = day.substr(0, 4) + day.substr(5, 2) + day.substr(8, 2);
  trade.trade_no = fmt::format("{}22001{:015d}", ymd, seq);
  trade.notify_id = fmt::format("{}00222{:020d}", ymd, seq);
  trade.created = now;
  auto key = trade.out_trade_no;
  return trades_.insert_or_assign(std::move(key), std::move(trade)).first->second;
}

std::vector<const SimTrade*> TradeBook::all() const {
  std::vector<const SimTrade*> out;
  for (const auto& [k, t] : trades_) out.push_back(&t);
  return out;
}

bool expired(const std::optional<core::UtcMs>& time_expire, core::UtcMs now) {
  return time_expire && now > *time_expire;
}

bool close_if_expired(SimTrade& trade, core::UtcMs now) {
  if (trade.status == "WAIT_BUYER_PAY" && expired(trade.time_expire, now))
    trade.status = "TRADE_CLOSED";
  return trade.status == "TRADE_CLOSED";
}

std::optional<FaultKind> parse_fault_kind(std::string_view n) {
  if (n == "latency") return FaultKind::Latency;
  if (n == "hang") return FaultKind::Hang;
  if (n == "drop") return FaultKind::Drop;
  if (n == "http_error" || n == "5xx") return FaultKind::HttpError;
  if (n == "system_error") return FaultKind::SystemError;
  if (n == "bad_sign") return FaultKind::BadSign;
  if (n == "no_sign") return FaultKind::NoSign;
  if (n == "truncate") return FaultKind::Truncate;
  if (n == "business_error") return FaultKind::BusinessError;
  if (n == "no_fund_change") return FaultKind::NoFundChange;
  if (n == "omit_field") return FaultKind::OmitField;
  if (n == "set_field") return FaultKind::SetField;
  return std::nullopt;
}

std::vector<Fault> FaultBook::take(std::string_view method) {
  std::vector<Fault> hit;
  for (auto it = faults_.begin(); it != faults_.end();) {
    if (it->method != "*" && it->method != method) {
      ++it;
      continue;
    }
    hit.push_back(*it);
    if (it->remaining > 0 && --it->remaining == 0) {
      it = faults_.erase(it);
    } else {
      ++it;
    }
  }
  return hit;
}

}  // namespace chatglmd::sim
