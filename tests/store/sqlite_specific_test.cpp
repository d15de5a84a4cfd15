// What only the SQLite backend promises: migrations by user_version, WAL, and index searches.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
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

TEST(SqliteStore, TheWriteProbeKeepsOneRowWithTheLatestTime) {
  testing::TempDir dir;
  auto opened = open_sqlite_store({dir.file("a.db")});
  ASSERT_TRUE(opened.store) << opened.error;
  opened.store->write_probe(core::UtcMs{1000});
  opened.store->write_probe(core::UtcMs{2000});
  opened.store.reset();
  Db db({dir.file("a.db")});
  auto st = db.prepare("SELECT count(*), max(written_at) FROM store_probe");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.int64(0), 1);
  EXPECT_EQ(st.int64(1), 2000);
}

// A database written before refunds existed: its orders survive the upgrade, REFUNDED (4) is
// accepted afterwards, anything else still is not, and a column another migration added to
// openai_order is kept (the constraint is widened in place, the table is not rebuilt).
TEST(SqliteMigrations, AVersionOneDatabaseUpgradesToRefunds) {
  testing::TempDir dir;
  {
    Db db({dir.file("a.db")});
    const auto& first = embedded_migrations().front();
    ASSERT_EQ(first.version, 1);
    db.exec_script(first.sql);
    db.exec_script("PRAGMA user_version = 1");
    db.exec_script(
        "INSERT INTO openai_order (order_id, openid, product_id, product_name, product_quota, "
        "order_time, order_status, pay_status, total_amount_fen, updated_at) VALUES "
        "('100000000001', 'u', 1, 'p', 5, 1, 2, 1, 100, 1);"
        "ALTER TABLE openai_order ADD COLUMN added_later TEXT NOT NULL DEFAULT 'kept';");
  }
  auto opened = open_sqlite_store({dir.file("a.db")});
  ASSERT_TRUE(opened.store) << opened.error;
  EXPECT_EQ(opened.migration.from_version, 1);
  EXPECT_EQ(opened.migration.to_version, latest_schema_version());
  auto& store = *opened.store;
  ASSERT_EQ(store.orders().get("100000000001")->state, core::OrderState::Delivered);
  ASSERT_EQ(store.refunds()
                .request("100000000001", "", core::Cause::Admin, core::UtcMs{2}, core::UtcMs{2})
                .outcome,
            RefundRequestOutcome::Requested);
  ASSERT_EQ(store.refunds().confirm("100000000001", core::Cause::Admin, "", core::UtcMs{3}),
            RefundDecision::Applied)
      << "the migrating connection itself accepts state 4";
  Db other({dir.file("a.db")});
  auto row = other.prepare(
      "SELECT order_status, pay_status, added_later FROM openai_order WHERE order_id = "
      "'100000000001'");
  ASSERT_TRUE(row.step());
  EXPECT_EQ(row.int64(0), 4);
  EXPECT_EQ(row.int64(1), 4);
  EXPECT_EQ(row.text(2), "kept");
  EXPECT_THROW(other.exec_script("UPDATE openai_order SET order_status = 5"), StoreError);
  EXPECT_THROW(other.exec_script("UPDATE openai_order SET pay_status = 2"), StoreError);
  auto check = other.prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.text(0), "ok");
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

// The writer keeps 32 MiB of pages; a connection that reads a few rows (serve's stamp reader)
// asks for less. SQLite is told in KiB (a negative cache_size), not in pages.
TEST(SqliteStore, EachConnectionKeepsThePageCacheItWasOpenedWith) {
  testing::TempDir dir;
  auto cache_size = [](Db& db) -> std::int64_t {
    auto q = db.prepare("PRAGMA cache_size");
    return q.step() ? q.int64(0) : 0;
  };
  Db writer({dir.file("a.db")});
  EXPECT_EQ(cache_size(writer), -32 * 1024);
  DbOptions small{dir.file("a.db")};
  small.page_cache_kib = 2 * 1024;
  Db reader(small);
  EXPECT_EQ(cache_size(reader), -2 * 1024);
  for (int kib : {0, -5}) {  // "-0" would open with no cache, "--5" fail as a comment
    DbOptions wrong{dir.file("a.db")};
    wrong.page_cache_kib = kib;
    EXPECT_THROW(Db{wrong}, StoreError) << kib;
  }
}

// The temporary files SQLite has open now (it deletes them at once, so /proc names them so).
int open_sqlite_temp_files() {
  int n = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.string().find("etilqs_") != std::string::npos) ++n;
  }
  return n;
}

// A group commit's batch: one transaction, a savepoint per unit, each unit changing pages the
// earlier units changed too. Their statement journal (a few MiB here) stays in memory instead
// of a temporary file written and deleted at every commit.
TEST(SqliteStore, AGroupCommitsSavepointsKeepTheirJournalInMemory) {
  testing::TempDir dir;
  Db db({dir.file("a.db"), "FULL"});
  db.exec_script("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  db.exec_script("BEGIN");
  for (int i = 0; i < 2000; ++i)
    db.prepare("INSERT INTO t (id, v) VALUES (?, ?)")
        .bind(1, i)
        .bind(2, std::string(300, 'a'))
        .step();
  db.exec_script("COMMIT");

  db.exec_script("BEGIN IMMEDIATE");
  int most_open = 0;
  for (int unit = 0; unit < 20; ++unit) {
    db.exec_script("SAVEPOINT unit");
    // Every unit touches every page of the table: about 150 pages journaled per unit.
    db.prepare("UPDATE t SET v = ? WHERE id % 10 = ?")
        .bind(1, std::string(300, 'b' + unit % 20))
        .bind(2, unit % 10)
        .step();
    db.exec_script("RELEASE unit");
    most_open = std::max(most_open, open_sqlite_temp_files());
  }
  db.exec_script("COMMIT");
  EXPECT_EQ(most_open, 0);
  auto changed = db.prepare("SELECT count(*) FROM t WHERE v <> ?");
  changed.bind(1, std::string(300, 'a'));
  ASSERT_TRUE(changed.step());
  EXPECT_EQ(changed.int64(0), 2000);
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

// The dashboard's reports (the queries of sqlite_chat_log.cpp) search an index by time instead
// of reading every order or notify.
TEST(SqliteStore, ReportQueriesSearchAnIndexInsteadOfScanning) {
  testing::TempDir dir;
  Db db({dir.file("a.db")});
  ASSERT_TRUE(migrate(db).ok);
  auto plan_of = [&db](const std::string& sql) {
    auto st = db.prepare("EXPLAIN QUERY PLAN " + sql);
    std::string plan;
    while (st.step()) plan += st.text(3) + "\n";
    return plan;
  };
  const std::vector<std::pair<std::string, std::string>> reports{
      {"SELECT COUNT(*), SUM(total_amount_fen) FROM openai_order WHERE pay_time IS NOT NULL AND "
       "pay_time >= 1 AND order_status <> 4",
       "openai_order_pay_time"},
      {"SELECT COUNT(*), COALESCE(SUM(order_status = 4), 0) FROM openai_order WHERE order_time >= "
       "1",
       "openai_order_order_time"},
      {"SELECT notify_id, out_trade_no, trade_status, verdict, received_at FROM pay_notify WHERE "
       "verdict <> 'ok' ORDER BY received_at DESC, id DESC LIMIT 20",
       "pay_notify_rejected"}};
  for (const auto& [sql, index] : reports) {
    const auto plan = plan_of(sql);
    SCOPED_TRACE(sql);
    EXPECT_NE(plan.find("INDEX " + index), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN openai_order\n"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN pay_notify\n"), std::string::npos) << plan;
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
