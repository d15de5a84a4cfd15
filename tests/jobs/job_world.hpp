#pragma once
// Everything a job tick touches, real except the clock: an SQLite file, a chatglmd-sim process
// with its Alipay half, and the AlipayGateway over net::HttpClient exactly as the app builds it
// (app::GatewayRuntime). The ManualClock decides which orders are due; nothing sleeps.
#include <gtest/gtest.h>

#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "jobs/job.hpp"
#include "jobs/runner.hpp"
#include "sim_process.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::app {
class GatewayRuntime;
}

namespace chatglmd::testing {

inline constexpr const char* kAppId = "2021000000000001";
inline constexpr const char* kSellerId = "2088102177649450";
inline constexpr std::int64_t kQuota = 100;
inline constexpr std::int64_t kPriceFen = 999;
// A fixed epoch: the sim's own wall clock never matters to the jobs.
inline constexpr core::UtcMs kStart{1'700'000'000'000};

// The chatglmd-sim flags that turn on its Alipay half with the fixture keys.
std::vector<std::string> alipay_sim_args();

// POST JSON to the sim's control API; throws when the sim refuses.
boost::json::value sim_control(int sim_port, const std::string& path, const std::string& json);
// The sim's trade for an order, or null when it has none.
std::optional<boost::json::object> sim_trade(int sim_port, const std::string& order_id);
// Every trade the sim holds, serialized (to prove a dry run changed nothing there).
std::string sim_trades_snapshot(int sim_port);

// Opens a store file (a daemon's too: WAL lets both processes write).
std::unique_ptr<store::Store> open_store(const std::string& path);
// Inserts a CREATED order (amount kPriceFen, quota kQuota, models glm-4) placed at `placed`.
void insert_order(store::Store& store, const std::string& order_id, core::UtcMs placed,
                  const std::string& openid);
// Moves a CREATED order to PAID without delivering it, as a crash between the two would leave it.
void mark_paid_undelivered(store::Store& store, const std::string& order_id, core::UtcMs paid_at);
// The trade the sim should hold for an order: created in `status`, with our app id, and a notify
// URL when the sim should tell a daemon about payments.
void put_trade(int sim_port, const std::string& order_id, const std::string& status,
               core::Fen amount = core::Fen{kPriceFen}, const std::string& notify_url = "");

class JobWorld {
 public:
  // `alipay_timeout` bounds each gateway call (the hang fault costs this much real time).
  explicit JobWorld(core::Millis alipay_timeout = core::Millis{400});
  ~JobWorld();

  core::ManualClock clock{kStart};
  store::Store& store() { return *store_; }
  pay::PaymentGateway& gateway();
  SimProcess& sim() { return *sim_; }
  std::string db_path() const { return dir_.file("jobs.db"); }

  // A CREATED order placed at `placed` (default: now), amount kPriceFen, quota kQuota.
  std::string add_order(std::optional<core::UtcMs> placed = std::nullopt, std::string openid = "");
  // A PAID order whose delivery never happened (the process died in between).
  std::string add_paid_undelivered(core::UtcMs paid_at, std::string openid = "");
  // The sim now holds a trade for the order in `status` (WAIT_BUYER_PAY, TRADE_SUCCESS, ...).
  void trade(const std::string& order_id, const std::string& status,
             core::Fen amount = core::Fen{kPriceFen});
  void fault(const std::string& kind, const std::string& method = "*", int count = 0);
  void clear_faults();

  core::Order order(const std::string& order_id);
  std::vector<store::OrderEventRow> events(const std::string& order_id) {
    return store_->orders().events(order_id);
  }
  std::int64_t quota_of(const std::string& openid);

  // One tick of `job` (its defaults unless `settings`), as `serve` or `jobs run` would run it.
  jobs::TickReport tick(jobs::Job& job, bool dry_run = false, int limit = 0,
                        std::optional<jobs::JobSettings> settings = std::nullopt);
  std::vector<store::JobRunRow> runs(const std::string& job) {
    return store_->jobs().history(job, 100000);
  }

 private:
  TempDir dir_;
  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<app::GatewayRuntime> runtime_;
  int next_order_ = 1;
};

// True when the order's audit rows form a path the state machine allows, from insert to
// `final_state`.
::testing::AssertionResult legal_event_chain(const std::vector<store::OrderEventRow>& events,
                                             core::OrderState final_state);

}  // namespace chatglmd::testing
