// The readiness probe on a real SQLite file and a manual clock: at most one probe write per
// interval, and none while real writes are committing.
#include "app/store_probe.hpp"

#include <gtest/gtest.h>

#include "store/sqlite_db.hpp"
#include "store/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::app {
namespace {

using namespace std::chrono_literals;

class StoreProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::open_sqlite_store({dir_.file("orders.db")});
    ASSERT_TRUE(opened.store) << opened.error;
    store_ = std::move(opened.store);
    probe_.emplace(*store_, clock_, dir_.file("orders.db"));
  }
  // When the probe last wrote (0: never), read on a connection of its own.
  std::int64_t probe_written_at() {
    store::Db db({dir_.file("orders.db")});
    auto q = db.prepare("SELECT coalesce(max(written_at), 0) FROM store_probe");
    return q.step() ? q.int64(0) : -1;
  }
  void real_write(const std::string& openid) {
    store_->in_transaction([&] { ASSERT_TRUE(store_->accounts().create({openid, 1, 1, ""})); });
  }

  testing::TempDir dir_;
  core::ManualClock clock_{core::UtcMs{1'000'000}};
  std::unique_ptr<store::Store> store_;
  std::optional<StoreProbe> probe_;
};

TEST_F(StoreProbeTest, WritesAtMostOncePerInterval) {
  EXPECT_EQ(probe_->check(), "");
  EXPECT_EQ(probe_written_at(), 1'000'000);
  for (int i = 0; i < 5; ++i) {
    clock_.advance(500ms);
    EXPECT_EQ(probe_->check(), "");
  }
  EXPECT_EQ(probe_written_at(), 1'000'000) << "a poll inside the interval wrote again";
  clock_.advance(kStoreProbeInterval);
  EXPECT_EQ(probe_->check(), "");
  EXPECT_EQ(probe_written_at(), 1'000'000 + 2500 + kStoreProbeInterval.count());
}

TEST_F(StoreProbeTest, RealWritesStandInForTheProbeWrite) {
  EXPECT_EQ(probe_->check(), "");
  ASSERT_EQ(probe_written_at(), 1'000'000);
  for (int i = 0; i < 3; ++i) {
    real_write("wx-" + std::to_string(i));
    clock_.advance(kStoreProbeInterval);
    EXPECT_EQ(probe_->check(), "");
  }
  EXPECT_EQ(probe_written_at(), 1'000'000) << "probed by writing while real writes committed";
  // Idle again: the next probe writes.
  clock_.advance(kStoreProbeInterval);
  EXPECT_EQ(probe_->check(), "");
  EXPECT_EQ(probe_written_at(), clock_.now().ms);
}

}  // namespace
}  // namespace chatglmd::app
