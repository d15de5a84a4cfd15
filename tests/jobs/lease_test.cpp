// The lease: `serve`'s scheduler and `chatglmd jobs run` one-shots started at the same moment
// never work on the same job at once, so no order is handled twice.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "job_world.hpp"
#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

using core::OrderState;
using namespace std::chrono_literals;

TEST(JobLease, DaemonAndOneShotsNeverHandleTheSameOrderTwice) {
  DaemonHarness d{DaemonOptions{{{"jobs.timeout-close.interval", "1s"},
                                 {"jobs.timeout-close.after", "0s"},
                                 {"jobs.timeout-close.batch", "4"},
                                 {"jobs.timeout-close.concurrency", "4"},
                                 {"jobs.reconcile.enabled", "false"},
                                 {"jobs.replenish-shipment.enabled", "false"}},
                                {}}};
  auto db = open_store(d.db());
  const int sim = d.sim().port();
  // Every close takes a while, so ticks would overlap in time if the lease did not keep them
  // apart. The trades wait for payment: a second close of one would answer
  // ACQ.TRADE_STATUS_ERROR and show up as a skipped item.
  sim_control(sim, "/sim/alipay/fault",
              R"({"kind":"latency","method":"alipay.trade.close","delay_ms":40})");

  constexpr int kRounds = 8, kPerRound = 12, kOneShots = 3;
  std::mt19937 rng(std::random_device{}());
  std::vector<std::string> ids;
  std::vector<int> exits;
  core::SystemClock clock;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::string> batch;
    for (int i = 0; i < kPerRound; ++i) {
      batch.push_back(fmt::format("7{:04d}{:07d}", round, i));
      put_trade(sim, batch.back(), "WAIT_BUYER_PAY");
      insert_order(*db, batch.back(), clock.now(), fmt::format("lease-{}", i % 3));
    }
    ids.insert(ids.end(), batch.begin(), batch.end());
    // Land anywhere in the daemon's 1 s cycle, then start the one-shots together.
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1100)(rng)));
    std::vector<int> codes(kOneShots, -1);
    std::vector<std::thread> shots;
    for (int s = 0; s < kOneShots; ++s)
      shots.emplace_back([&, s] { codes[s] = d.cli({"jobs", "run", "timeout-close"}).exit_code; });
    for (auto& t : shots) t.join();
    exits.insert(exits.end(), codes.begin(), codes.end());
    ASSERT_TRUE(eventually([&] {
      for (const auto& id : batch)
        if (db->orders().get(id)->state != OrderState::Closed) return false;
      return true;
    })) << d.log();
  }

  int held = 0;
  for (int code : exits) {
    EXPECT_TRUE(code == 0 || code == 75) << code;
    held += code == 75;
  }
  EXPECT_GE(held, 1) << "no one-shot ever met a held lease: the test proved nothing";

  // Each order was selected, decided and closed exactly once.
  int selected = 0, done = 0, other = 0, by_daemon = 0, by_cron = 0;
  for (const auto& run : db->jobs().history("timeout-close", 100000)) {
    selected += run.selected;
    done += run.succeeded;
    other += run.failed + run.skipped;
    if (run.selected > 0) (run.owner.ends_with(":serve") ? by_daemon : by_cron)++;
  }
  EXPECT_EQ(selected, kRounds * kPerRound);
  EXPECT_EQ(done, kRounds * kPerRound);
  EXPECT_EQ(other, 0);
  for (const auto& id : ids) {
    auto ev = db->orders().events(id);
    EXPECT_TRUE(legal_event_chain(ev, OrderState::Closed)) << id;
    EXPECT_EQ(ev.size(), 2u) << id;
    EXPECT_EQ(sim_trade(sim, id)->at("status").as_string(), "TRADE_CLOSED") << id;
  }
  std::cout << fmt::format(
      "{} one-shots: {} met a held lease; ticks with work: {} by serve, {} by one-shots\n",
      exits.size(), held, by_daemon, by_cron);
  EXPECT_EQ(d.terminate(), 0);
}

}  // namespace
}  // namespace chatglmd::testing
