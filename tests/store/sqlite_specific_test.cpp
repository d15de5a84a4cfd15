// What only the SQLite backend promises: migrations by user_version, WAL, and index searches.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "store/migrations.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::store {
namespace {

std::string dump_schema(Db& db) {
  auto st = db.prepare(
      "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name");
  std::string out;
  while (st.step()) out += st.text(0) + "\n";
  return out;
}

TEST(SqliteMigrations, RunningTwiceChangesNothing) {
  testing::TempDir dir;
  Db db({dir.file("a.db")});
  auto first = migrate(db);
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_EQ(first.from_version, 0);
  EXPECT_EQ(first.to_version, latest_schema_version());
  EXPECT_FALSE(first.applied.empty());
  std::string schema = dump_schema(db);
  auto second = migrate(db);
  ASSERT_TRUE(second.ok);
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.from_version, second.to_version);
  EXPECT_EQ(dump_schema(db), schema);
}

TEST(SqliteMigrations, ANewerDatabaseIsRefusedClearly) {
  testing::TempDir dir;
  {
    Db db({dir.file("a.db")});
    ASSERT_TRUE(migrate(db).ok);
    db.exec_script("PRAGMA user_version = 999");
  }
  auto opened = open_sqlite_store({dir.file("a.db")});
  EXPECT_FALSE(opened.store);
  EXPECT_NE(opened.error.find("newer"), std::string::npos) << opened.error;
  EXPECT_NE(opened.error.find("999"), std::string::npos) << opened.error;
}

TEST(SqliteMigrations, WithoutMigrateAnOldSchemaIsReported) {
  testing::TempDir dir;
  auto opened = open_sqlite_store({dir.file("a.db"), "FULL", 1000, false});
  EXPECT_FALSE(opened.store);
  EXPECT_NE(opened.error.find("chatglmd migrate"), std::string::npos) << opened.error;
}

TEST(SqliteStore, UsesWalForeignKeysAndTheConfiguredSync) {
  testing::TempDir dir;
  Db db({dir.file("a.db"), "FULL"});
  auto mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
  auto fk = db.prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(fk.step());
  EXPECT_EQ(fk.int64(0), 1);
  auto sync = db.prepare("PRAGMA synchronous");
  ASSERT_TRUE(sync.step());
  EXPECT_EQ(sync.int64(0), 2);  // FULL
  EXPECT_THROW(Db({dir.file("b.db"), "SOMETIMES"}), StoreError);
}

TEST(SqliteStore, AuditLogIsAppendOnly) {
  testing::TempDir dir;
  auto opened = open_sqlite_store({dir.file("a.db")});
  ASSERT_TRUE(opened.store);
  core::Order o;
  o.order_id = "100000000001";
  o.openid = "u";
  o.product_name = "p";
  o.quota = 1;
  o.amount = core::Fen{1};
  ASSERT_TRUE(opened.store->orders().insert(o, core::UtcMs{1}));
  Db db({dir.file("a.db")});
  EXPECT_THROW(db.exec_script("UPDATE order_event SET cause = 'x'"), StoreError);
  EXPECT_THROW(db.exec_script("DELETE FROM order_event"), StoreError);
}

TEST(SqliteStore, DueQueriesSearchAnIndexInsteadOfScanning) {
  testing::TempDir dir;
  auto opened = open_sqlite_store({dir.file("a.db")});
  ASSERT_TRUE(opened.store);
  auto plans = opened.store->orders().due_query_plans();
  ASSERT_EQ(plans.size(), 6u);
  auto searches = [](const std::string& plan, const std::string& table, const std::string& index) {
    return plan.find("SEARCH " + table + " USING INDEX " + index + " ") != std::string::npos ||
           plan.find("SEARCH " + table + " USING COVERING INDEX " + index + " ") !=
               std::string::npos;
  };
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const auto& plan = plans[i];
    SCOPED_TRACE(plan);
    // The equality columns lead the index, so SQLite searches it (covering or not).
    if (i < 4) {
      EXPECT_TRUE(searches(plan, "openai_order", "openai_order_due") ||
                  searches(plan, "openai_order", "openai_order_paid_due"));
    } else {
      // The close-followup job starts from its own due index, then looks each order up.
      EXPECT_TRUE(searches(plan, "close_followup", "close_followup_due"));
      EXPECT_EQ(plan.find("SCAN close_followup"), std::string::npos);
    }
    EXPECT_EQ(plan.find("SCAN openai_order"), std::string::npos);
  }
}

// Orders an older chatglmd closed on ACQ.TRADE_NOT_EXIST in the last week get their follow-up
// when 002 is applied; older closes, other closes and orders paid since do not.
TEST(SqliteMigrations, Migration002FollowsUpRecentClosesOnTradeNotExist) {
  testing::TempDir dir;
  Db db({dir.file("a.db")});
  const auto& all = embedded_migrations();
  ASSERT_GE(all.size(), 2u);
  ASSERT_EQ(all[1].version, 2);
  db.exec_script(all[0].sql);
  db.exec_script("PRAGMA user_version = 1");
  const std::int64_t now = wall_clock_ms();
  const std::int64_t day = 86'400'000;
  // id, status now, close detail, close time
  const std::vector<std::tuple<std::string, int, std::string, std::int64_t>> orders = {
      {"100000000001", 3, "40004 Business Failed ACQ.TRADE_NOT_EXIST", now - day},
      {"100000000002", 3, "gateway: TRADE_NOT_EXIST", now - 6 * day},
      {"100000000003", 3, "40004 Business Failed ACQ.TRADE_NOT_EXIST", now - 8 * day},
      {"100000000004", 3, "gateway: TRADE_CLOSED", now - day},
      {"100000000005", 2, "40004 Business Failed ACQ.TRADE_NOT_EXIST", now - day},
  };
  for (const auto& [id, status, detail, at] : orders) {
    db.exec_script(fmt::format(
        "INSERT INTO openai_order (order_id, openid, product_id, product_name, product_quota, "
        "order_time, order_status, pay_status, total_amount_fen, updated_at) "
        "VALUES ('{0}', 'u', 1, 'p', 1, {1}, {2}, {3}, 100, {1});"
        "INSERT INTO order_event (order_id, from_status, to_status, cause, detail, at) "
        "VALUES ('{0}', 0, 3, 'timeout-close', '{4}', {1});",
        id, at, status, status == 3 ? 3 : 1, detail));
  }
  auto report = migrate(db);
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.from_version, 1);
  auto st = db.prepare("SELECT order_id, next_query_at, pending FROM close_followup ORDER BY 1");
  std::vector<std::string> ids;
  while (st.step()) {
    ids.push_back(st.text(0));
    EXPECT_EQ(st.int64(2), 1);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"100000000001", "100000000002"}));
}

}  // namespace
}  // namespace chatglmd::store
