// Two runners on two connections to one PostgreSQL store (two nodes' schedulers) work one
// timeout-close backlog at once against the real gateway (chatglmd-sim): each order is handled
// by exactly one of them, never by both at the same time, and both did work. On SQLite the job
// lease keeps this to one runner; on PostgreSQL due orders are claimed per item.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "job_world.hpp"
#include "jobs/timeout_close_job.hpp"
#include "store/pg_store.hpp"
#include "support/pg_cluster.hpp"

namespace chatglmd::testing {
namespace {

// Records who handles which order, and whether an order was ever in two hands at once, around
// the real job.
class WatchedJob final : public jobs::Job {
 public:
  explicit WatchedJob(jobs::Job& real) : real_(real) {}
  std::string_view name() const override { return real_.name(); }
  std::string_view summary() const override { return real_.summary(); }
  jobs::JobSettings defaults() const override { return real_.defaults(); }
  std::vector<core::Order> select_due(jobs::JobContext& ctx, std::int64_t after_id,
                                      int limit) override {
    auto due = real_.select_due(ctx, after_id, limit);
    if (after_select) after_select();
    return due;
  }
  store::OrderRepository::Backlog backlog(jobs::JobContext& ctx) override {
    return real_.backlog(ctx);
  }
  jobs::ItemResult handle(jobs::JobContext& ctx, const core::Order& order) override {
    {
      std::lock_guard lock(mutex_);
      if (!in_hand_.insert(order.order_id).second) ++overlaps_;
      ++handled_[order.order_id];
    }
    auto r = real_.handle(ctx, order);
    std::lock_guard lock(mutex_);
    in_hand_.erase(order.order_id);
    return r;
  }

  // Runs after every page read: lets a test put another node's work between two steps of a tick.
  std::function<void()> after_select;

  std::map<std::string, int> handled() {
    std::lock_guard lock(mutex_);
    return handled_;
  }
  int overlaps() {
    std::lock_guard lock(mutex_);
    return overlaps_;
  }

 private:
  jobs::Job& real_;
  std::mutex mutex_;
  std::set<std::string> in_hand_;
  std::map<std::string, int> handled_;
  int overlaps_ = 0;
};

std::unique_ptr<store::Store> open_pg(const std::string& url) {
  auto opened = store::open_pg_store({url, "", true});
  if (!opened.store) throw std::runtime_error(opened.error);
  return std::move(opened.store);
}

TEST(PgJobClaims, TwoRunnersShareOneBacklogEachOrderHandledOnce) {
  JobWorld w;  // the sim and the real gateway; its SQLite file stays unused
  const std::string url = PgCluster::shared().create_database("claims");
  auto node_a = open_pg(url);
  auto node_b = open_pg(url);
  ASSERT_TRUE(node_a->jobs().claims_items());
  node_a->products().add({1002, "100 chats", "d", kQuota, core::Fen{kPriceFen}, "glm-4", true, 1});

  constexpr int kOrders = 60;
  std::vector<std::string> ids;
  for (int n = 1; n <= kOrders; ++n) {
    const auto id = fmt::format("6{:011d}", n);
    insert_order(*node_a, id, kStart - core::Millis{std::chrono::minutes(31)}, "buyer");
    w.trade(id, "WAIT_BUYER_PAY");
    ids.push_back(id);
  }

  jobs::TimeoutCloseJob real;
  WatchedJob job(real);
  auto settings = real.defaults();
  settings.batch = 5;
  settings.concurrency = 3;
  jobs::TickReport report_a, report_b;
  std::atomic<int> ready{0};
  auto run = [&](store::Store& store, const std::string& owner, jobs::TickReport& out) {
    jobs::JobContext ctx{w.clock, store, w.gateway(), settings};
    ++ready;
    while (ready.load() < 2) std::this_thread::yield();  // both start together
    out = jobs::run_tick(job, ctx, {owner, 0});
  };
  std::thread a([&] { run(*node_a, "node-a:1:serve", report_a); });
  std::thread b([&] { run(*node_b, "node-b:2:serve", report_b); });
  a.join();
  b.join();

  EXPECT_FALSE(report_a.lease_held_elsewhere);
  EXPECT_FALSE(report_b.lease_held_elsewhere);
  EXPECT_GT(report_a.done, 0) << "node a worked the backlog too";
  EXPECT_GT(report_b.done, 0) << "node b worked the backlog too";
  EXPECT_EQ(report_a.done + report_b.done, kOrders);
  EXPECT_EQ(report_a.unclear + report_b.unclear, 0);
  EXPECT_EQ(job.overlaps(), 0) << "an order was in two runners' hands at once";
  const auto handled = job.handled();
  EXPECT_EQ(handled.size(), static_cast<std::size_t>(kOrders));
  for (const auto& id : ids) {
    EXPECT_EQ(handled.count(id) ? handled.at(id) : 0, 1) << id;
    EXPECT_EQ(node_b->orders().get(id)->state, core::OrderState::Closed) << id;
    EXPECT_TRUE(legal_event_chain(node_b->orders().events(id), core::OrderState::Closed)) << id;
  }
  EXPECT_EQ(node_a->jobs().history("timeout-close", 10).size(), 2u) << "a job_run row per node";
  EXPECT_TRUE(
      node_a->jobs().claim("timeout-close", "node-c:3:serve", ids, core::Millis{1000}).size() ==
      ids.size())
      << "the runners gave their claims back";
}

// A claim runs out while its order still waits in a node's queue (a long queue or a slow
// gateway; here the lease is negative, so every claim has run out by the database's clock as
// soon as it is taken). Another node takes the orders, handles them and gives them back. The
// first node must not take them again for the orders it queued before: they are stale, and
// handling them would handle each order twice.
TEST(PgJobClaims, AClaimThatRanOutWhileQueuedIsNotTakenAgainByItsFormerHolder) {
  JobWorld w;
  const std::string url = PgCluster::shared().create_database("claim_lapse");
  auto node_a = open_pg(url);
  auto node_b = open_pg(url);
  node_a->products().add({1002, "100 chats", "d", kQuota, core::Fen{kPriceFen}, "glm-4", true, 1});
  constexpr int kOrders = 5;
  std::vector<std::string> ids;
  for (int n = 1; n <= kOrders; ++n) {
    const auto id = fmt::format("7{:011d}", n);
    insert_order(*node_a, id, kStart - core::Millis{std::chrono::minutes(31)}, "buyer");
    w.trade(id, "WAIT_BUYER_PAY");
    ids.push_back(id);
  }

  jobs::TimeoutCloseJob real;
  WatchedJob job(real);
  auto settings_a = real.defaults();
  settings_a.batch = kOrders;
  settings_a.concurrency = 1;
  settings_a.lease = core::Millis{-1};  // run out as soon as taken
  jobs::JobContext ctx_a{w.clock, *node_a, w.gateway(), settings_a};
  jobs::JobContext ctx_b{w.clock, *node_b, w.gateway(), real.defaults()};
  jobs::TickReport report_b;
  int page_reads = 0;
  job.after_select = [&] {
    // Node a's second read is the one under its claims: its queue fills right after it. Node b's
    // whole tick runs in between (its own reads come back here and do nothing).
    if (++page_reads == 2) report_b = jobs::run_tick(job, ctx_b, {"node-b:2:serve", 0});
  };
  const auto report_a = jobs::run_tick(job, ctx_a, {"node-a:1:serve", 0});

  EXPECT_EQ(report_b.done, kOrders) << "node b took the lapsed claims and closed every order";
  EXPECT_EQ(report_a.selected, kOrders);
  EXPECT_EQ(report_a.done, 0) << "node a handled orders whose claim it had lost";
  EXPECT_EQ(report_a.skipped, kOrders);
  const auto handled = job.handled();
  for (const auto& id : ids) {
    EXPECT_EQ(handled.count(id) ? handled.at(id) : 0, 1) << id << " handled more than once";
    EXPECT_EQ(node_a->orders().get(id)->state, core::OrderState::Closed) << id;
    EXPECT_TRUE(legal_event_chain(node_a->orders().events(id), core::OrderState::Closed)) << id;
  }
}

TEST(PgJobClaims, ALiveClaimIsRenewedButALapsedOneIsNot) {
  const std::string url = PgCluster::shared().create_database("claim_renew");
  auto node_a = open_pg(url);
  auto node_b = open_pg(url);
  ASSERT_EQ(node_a->jobs().claim("reconcile", "a", {"o1", "o2"}, core::Millis{60000}).size(), 2u);
  EXPECT_TRUE(node_a->jobs().renew_claim("reconcile", "a", "o1", core::Millis{60000}));
  EXPECT_FALSE(node_b->jobs().renew_claim("reconcile", "b", "o1", core::Millis{60000}))
      << "another owner's claim is not renewed";
  EXPECT_FALSE(node_a->jobs().renew_claim("reconcile", "a", "o3", core::Millis{60000}))
      << "an item never claimed is not taken by a renewal";
  node_a->jobs().release_claims("reconcile", "a", "o2");
  EXPECT_FALSE(node_a->jobs().renew_claim("reconcile", "a", "o2", core::Millis{60000}))
      << "a released claim is gone";
  // By the database's clock: a claim taken with a negative length has already run out.
  ASSERT_EQ(node_a->jobs().claim("reconcile", "a", {"o4"}, core::Millis{-1}).size(), 1u);
  EXPECT_FALSE(node_a->jobs().renew_claim("reconcile", "a", "o4", core::Millis{60000}))
      << "a lapsed claim is not its former holder's any more";
}

TEST(PgJobClaims, AClaimHeldByOneNodeIsRefusedToAnotherUntilItExpires) {
  const std::string url = PgCluster::shared().create_database("claim_expiry");
  auto node_a = open_pg(url);
  auto node_b = open_pg(url);
  const std::vector<std::string> items{"o1", "o2", "o\"3"};
  EXPECT_EQ(node_a->jobs().claim("reconcile", "a", items, core::Millis{60000}), items);
  EXPECT_TRUE(node_b->jobs().claim("reconcile", "b", items, core::Millis{60000}).empty());
  EXPECT_EQ(node_b->jobs().claim("timeout-close", "b", {"o1"}, core::Millis{60000}),
            std::vector<std::string>{"o1"})
      << "claims are per job";
  EXPECT_EQ(node_a->jobs().claim("reconcile", "a", {"o2"}, core::Millis{60000}),
            std::vector<std::string>{"o2"})
      << "the holder renews its own";
  node_a->jobs().release_claims("reconcile", "a", "o1");
  EXPECT_EQ(node_b->jobs().claim("reconcile", "b", items, core::Millis{60000}),
            std::vector<std::string>{"o1"});
  // A claim expires by the database's clock: a negative length has already run out.
  EXPECT_EQ(node_a->jobs().claim("refund-query", "a", {"r1"}, core::Millis{-1}).size(), 1u);
  EXPECT_EQ(node_b->jobs().claim("refund-query", "b", {"r1"}, core::Millis{60000}).size(), 1u);
  node_a->jobs().release_claims("reconcile", "a", "");
  EXPECT_EQ(node_b->jobs().claim("reconcile", "b", items, core::Millis{60000}).size(), 3u)
      << "releasing all of a job's claims frees every item";
}

}  // namespace
}  // namespace chatglmd::testing
