// A store that fails (SQLITE_BUSY past the busy timeout, a full disk) in the middle of a tick:
// the tick ends with exit code 1 and a record of it, the lease is released, and the process
// lives on (a tick runs on worker threads; an exception escaping one would end `serve`).
#include <gtest/gtest.h>

#include <atomic>

#include "job_world.hpp"
#include "jobs/timeout_close_job.hpp"
#include "store/sqlite_db.hpp"
#include "support/forwarding_store.hpp"

namespace chatglmd::testing {
namespace {

using core::OrderState;
using namespace std::chrono_literals;

// The real orders repository, with failures switched on by the test.
class FailingOrders final : public store::OrderRepository {
 public:
  explicit FailingOrders(store::OrderRepository& real) : real_(real) {}
  std::atomic<bool> fail_record_failure{false};
  std::atomic<int> fail_select_after{-1};  // selects that still work before they all fail; -1 never

  bool insert(const core::Order& o, core::UtcMs now) override { return real_.insert(o, now); }
  std::optional<core::Order> get(const std::string& id) override { return real_.get(id); }
  std::vector<core::Order> list(const store::OrderFilter& f) override { return real_.list(f); }
  std::optional<core::Order> find_reusable(const std::string& openid, std::int64_t product,
                                           core::UtcMs nb) override {
    return real_.find_reusable(openid, product, nb);
  }
  void set_pay_info(const std::string& id, const std::string& info, core::UtcMs now) override {
    real_.set_pay_info(id, info, now);
  }
  store::TransitionResult apply(const std::string& id, core::OrderEvent e, core::Cause c,
                                const std::string& d, core::UtcMs now,
                                const std::optional<store::PaymentFacts>& p) override {
    return real_.apply(id, e, c, d, now, p);
  }
  store::DeliveryOutcome deliver(const std::string& id, core::Cause c, core::UtcMs now) override {
    return real_.deliver(id, c, now);
  }
  std::vector<core::Order> due_created(core::UtcMs from, core::UtcMs until, core::UtcMs now,
                                       std::int64_t after, int limit) override {
    if (fail_select_after.load() >= 0 && fail_select_after.fetch_sub(1) == 0)
      throw store::StoreError("database is locked", 5);
    return real_.due_created(from, until, now, after, limit);
  }
  std::vector<core::Order> due_paid(core::UtcMs until, core::UtcMs now, std::int64_t after,
                                    int limit) override {
    return real_.due_paid(until, now, after, limit);
  }
  Backlog backlog_created(core::UtcMs from, core::UtcMs until) override {
    return real_.backlog_created(from, until);
  }
  Backlog backlog_paid(core::UtcMs until) override { return real_.backlog_paid(until); }
  void add_close_followup(const std::string& id, core::UtcMs expire, core::UtcMs at) override {
    real_.add_close_followup(id, expire, at);
  }
  std::vector<core::Order> due_close_followups(core::UtcMs until, core::UtcMs now,
                                               std::int64_t after, int limit) override {
    return real_.due_close_followups(until, now, after, limit);
  }
  Backlog backlog_close_followups(core::UtcMs until) override {
    return real_.backlog_close_followups(until);
  }
  void record_close_followup(const std::string& id, const std::string& answer,
                             std::optional<core::UtcMs> next) override {
    real_.record_close_followup(id, answer, next);
  }
  std::optional<store::CloseFollowup> close_followup(const std::string& id) override {
    return real_.close_followup(id);
  }
  void record_failure(const std::string& id, core::OrderState expected, const std::string& error,
                      core::UtcMs next) override {
    if (fail_record_failure) throw store::StoreError("database is locked", 5);
    real_.record_failure(id, expected, error, next);
  }
  std::vector<store::OrderEventRow> events(const std::string& id) override {
    return real_.events(id);
  }
  std::vector<std::string> due_query_plans() override { return real_.due_query_plans(); }

 private:
  store::OrderRepository& real_;
};

class FailingStore final : public testing::ForwardingStore {
 public:
  explicit FailingStore(store::Store& real) : ForwardingStore(real), orders_(real.orders()) {}
  FailingOrders& failing() { return orders_; }
  store::OrderRepository& orders() override { return orders_; }

 private:
  FailingOrders orders_;
};

struct StoreErrors : ::testing::Test {
  JobWorld w;
  FailingStore store{w.store()};
  jobs::TimeoutCloseJob job;

  jobs::TickReport tick(int batch) {
    auto settings = job.defaults();
    settings.batch = batch;
    jobs::JobContext ctx{w.clock, store, w.gateway(), settings};
    return jobs::run_tick(job, ctx, {"test:1:store-errors", 0});
  }
  bool lease_free() {
    const auto now = w.clock.now();
    bool free = w.store().jobs().try_acquire("timeout-close", "someone-else", now,
                                             now + core::Millis{1min});
    if (free) w.store().jobs().release("timeout-close", "someone-else");
    return free;
  }
};

TEST_F(StoreErrors, FailureBookkeepingThatCannotBeWrittenLeavesTheOrderDue) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(w.add_order(w.clock.now() - core::Millis{31min}));
  w.fault("http_error", "alipay.trade.close");
  store.failing().fail_record_failure = true;
  auto r = tick(50);  // 16 workers, each meeting the error
  EXPECT_EQ(r.selected, 20);
  EXPECT_EQ(r.unclear, 20);
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_TRUE(lease_free());
  for (const auto& id : ids) {
    auto o = w.order(id);
    EXPECT_EQ(o.state, OrderState::Created);
    EXPECT_EQ(o.attempts, 0);  // not recorded, so due again at once: retried, never lost
  }
  auto runs = w.runs("timeout-close");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, "partial");

  store.failing().fail_record_failure = false;
  w.clear_faults();
  auto again = tick(50);
  EXPECT_EQ(again.done, 20);
  EXPECT_EQ(again.exit_code(), 0);
}

TEST_F(StoreErrors, ASelectThatFailsEndsTheTickAsFailedAndFreesTheLease) {
  for (int i = 0; i < 12; ++i) w.add_order(w.clock.now() - core::Millis{31min});
  store.failing().fail_select_after = 1;  // the first page of 5 works, the next select fails
  auto r = tick(5);
  EXPECT_EQ(r.selected, 5);
  EXPECT_EQ(r.done, 5);
  EXPECT_EQ(r.outcome, "failed");
  EXPECT_EQ(r.exit_code(), 1);  // not "all decided": 7 due orders were never looked at
  EXPECT_TRUE(lease_free());
  auto runs = w.runs("timeout-close");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, "failed");
  EXPECT_NE(runs[0].detail.find("database is locked"), std::string::npos) << runs[0].detail;

  auto again = tick(5);
  EXPECT_EQ(again.selected, 7);
  EXPECT_EQ(again.exit_code(), 0);
}

}  // namespace
}  // namespace chatglmd::testing
