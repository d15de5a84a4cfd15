#pragma once
// The fake gateway's memory: trades and injected faults. Not thread-safe; the sim locks.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "core/time.hpp"

namespace chatglmd::sim {

struct SimTrade {
  std::string out_trade_no;
  std::string trade_no;
  std::string status = "WAIT_BUYER_PAY";  // WAIT_BUYER_PAY | TRADE_SUCCESS | TRADE_CLOSED
  core::Fen amount;
  std::string subject;
  std::string app_id;
  std::string notify_url;
  std::string return_url;
  bool scanned = true;  // precreate trades exist for query/close only after a scan
  core::UtcMs created;
  std::optional<core::UtcMs> paid_at;
  std::string notify_id;                   // the same across re-sends
  std::optional<core::UtcMs> time_expire;  // from biz_content: unpaid past it, the trade closes
  // Refunds made, by out_request_no: a resend of one of them moves no money (fund_change N).
  std::map<std::string, core::Fen, std::less<>> refunds;
  core::Fen refunded;  // the trade's refunded total
};

// The sim's clock: the host's by default; a test pins it (and moves it) to match the injected
// clock of the code it drives, so time_expire is judged on the same time line.
class SimClock final : public core::Clock {
 public:
  core::UtcMs now() const override { return pinned_ ? *pinned_ : system_.now(); }
  void pin(core::UtcMs t) { pinned_ = t; }
  void advance(core::Millis d) { pinned_ = now() + d; }
  void unpin() { pinned_.reset(); }
  bool pinned() const { return pinned_.has_value(); }

 private:
  core::SystemClock system_;
  std::optional<core::UtcMs> pinned_;
};

// A waiting trade whose time_expire has passed is closed, as Alipay closes it (lazily, when
// someone looks). True when it is closed now or was before.
bool close_if_expired(SimTrade& trade, core::UtcMs now);
// True when a trade with this time_expire can no longer be created or paid at `now`.
bool expired(const std::optional<core::UtcMs>& time_expire, core::UtcMs now);

class TradeBook {
 public:
  // Visible = exists for query/close (a precreate trade nobody scanned is not).
  SimTrade* find_visible(std::string_view out_trade_no);
  SimTrade* find_any(std::string_view out_trade_no);
  SimTrade& create(SimTrade trade, core::UtcMs now);
  std::vector<const SimTrade*> all() const;
  void clear() { trades_.clear(); }

 private:
  std::map<std::string, SimTrade, std::less<>> trades_;
  long next_seq_ = 1;
};

enum class FaultKind {
  Latency,
  Hang,
  Drop,
  HttpError,
  SystemError,
  BadSign,
  NoSign,
  Truncate,
  BusinessError,  // a signed 40004 answer with `sub_code`; the call does nothing
  NoFundChange,   // alipay.trade.refund answers fund_change N and moves no money
  OmitField,      // the signed answer lacks `field`
  SetField,       // the signed answer says `value` for `field`
};
std::optional<FaultKind> parse_fault_kind(std::string_view name);

struct Fault {
  FaultKind kind = FaultKind::HttpError;
  std::string method = "*";
  int remaining = 0;  // calls left; 0 = permanent
  int delay_ms = 0;
  int status = 502;
  std::string sub_code;  // BusinessError
  std::string field;     // OmitField, SetField
  std::string value;     // SetField
};

class FaultBook {
 public:
  void add(Fault f) { faults_.push_back(std::move(f)); }
  void clear() { faults_.clear(); }
  // Faults that hit this call of `method`, counting it against limited ones.
  std::vector<Fault> take(std::string_view method);

 private:
  std::vector<Fault> faults_;
};

}  // namespace chatglmd::sim
