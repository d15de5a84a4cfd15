// `chatglmd backup FILE` against a live daemon: the copy is consistent and complete while serve
// keeps committing orders, and a backup never overwrites a file.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <set>
#include <thread>

#include "daemon_client.hpp"

namespace chatglmd::testing {
namespace {

std::set<std::string> order_ids(const std::string& db) {
  std::set<std::string> ids;
  for (const auto& row : sql_rows(db, "SELECT order_id FROM openai_order")) ids.insert(row[0]);
  return ids;
}

TEST(Backup, ConsistentCopyWhileServeWritesOrders) {
  DaemonHarness d;
  run_ok(d, {"product", "add", "--id", "7", "--name", "ten", "--price", "1.00", "--quota", "10"});
  std::vector<std::string> tokens;
  for (int i = 0; i < 200; ++i) tokens.push_back(d.token_for("backup-user-" + std::to_string(i)));

  // Each request is a new buyer, so each commits a new order inside serve.
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::thread writer([&] {
    for (std::size_t i = 0; i < tokens.size() && !stop; ++i) {
      auto r = d.post_form("/api/v1/sale/create_pay_order", "productId=7", tokens[i]);
      if (r.status == 200 && envelope_code(r) == "0000") ++created;
    }
  });
  ASSERT_TRUE(eventually([&] { return created >= 20; })) << d.log();

  const auto committed_before = order_ids(d.db());
  const int created_at_start = created;
  const std::string copy = d.dir() + "/copy.db";
  auto backup = d.cli({"backup", copy});
  // serve went on committing: the backup held no lock that stopped it.
  EXPECT_TRUE(eventually([&] { return created >= created_at_start + 10; })) << d.log();
  stop = true;
  writer.join();

  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_NE(backup.out.find("integrity_check ok"), std::string::npos) << backup.out;
  EXPECT_NE(backup.out.find(" bytes) in "), std::string::npos) << backup.out;
  EXPECT_EQ(sql_rows(copy, "PRAGMA integrity_check"),
            (std::vector<std::vector<std::string>>{{"ok"}}));
  const auto in_copy = order_ids(copy);
  for (const auto& id : committed_before) EXPECT_TRUE(in_copy.count(id)) << id;
  EXPECT_GE(in_copy.size(), committed_before.size());
  // A snapshot: never an order the live store does not have.
  const auto live = order_ids(d.db());
  for (const auto& id : in_copy) EXPECT_TRUE(live.count(id)) << id;
  // The copy stands alone: its WAL is checkpointed into the file and removed.
  EXPECT_FALSE(std::filesystem::exists(copy + "-wal"));
  EXPECT_EQ(sql_int(copy, "SELECT count(*) FROM openai_product"), 1);
  EXPECT_EQ(d.terminate(), 0);
}

TEST(Backup, NeverOverwritesAnExistingFile) {
  DaemonHarness d({.start = false});
  const std::string target = d.dir() + "/taken.db";
  write_file(target, "keep me");
  auto r = d.cli({"backup", target});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exists"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(target), "keep me");

  // A symlink to elsewhere is refused too, and what it points at stays as it was.
  const std::string link = d.dir() + "/link.db";
  std::filesystem::create_symlink(target, link);
  EXPECT_EQ(d.cli({"backup", link}).exit_code, 1);
  EXPECT_EQ(read_file(target), "keep me");
}

TEST(Backup, JsonReportAndUsableCopy) {
  DaemonHarness d({.start = false});
  run_ok(d, {"user", "add", "someone", "--quota", "5"});
  const std::string copy = d.dir() + "/copy.db";
  auto r = d.cli({"--json", "backup", copy});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = boost::json::parse(r.out);
  EXPECT_EQ(report.at("file").as_string(), copy);
  EXPECT_EQ(report.at("integrity").as_string(), "ok");
  EXPECT_EQ(report.at("bytes").as_int64(),
            static_cast<std::int64_t>(std::filesystem::file_size(copy)));
  // The copy is a store chatglmd opens as it is.
  auto shown = d.cli({"--db", copy, "--json", "user", "show", "someone"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(boost::json::parse(shown.out).at("surplusQuota").to_number<std::int64_t>(), 5);
}

TEST(Backup, MissingStoreIsASetupErrorAndLeavesNoFile) {
  DaemonHarness d({.start = false});
  const std::string copy = d.dir() + "/copy.db";
  auto r = d.cli({"--db", d.dir() + "/absent.db", "backup", copy});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no database at " + d.dir() + "/absent.db"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(copy));
  EXPECT_FALSE(std::filesystem::exists(d.dir() + "/absent.db"));
}

// A store that is not an SQLite database: the copy fails, says why, and leaves nothing behind.
TEST(Backup, UnreadableStoreFailsAndLeavesNoFile) {
  DaemonHarness d({.start = false});
  write_file(d.dir() + "/garbage.db", std::string(8192, 'x'));
  const std::string copy = d.dir() + "/copy.db";
  auto r = d.cli({"--db", d.dir() + "/garbage.db", "backup", copy});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("garbage.db"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(copy));
  EXPECT_FALSE(std::filesystem::exists(copy + "-wal"));
}

TEST(Backup, PostgresqlStoreIsPointedToPgDump) {
  DaemonHarness d({.start = false});
  const std::string copy = d.dir() + "/copy.db";
  auto r = d.cli({"--db", "postgresql://db.example/chatglmd", "backup", copy});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("pg_dump"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(copy));
}

TEST(Backup, WrongShapeIsAUsageError) {
  DaemonHarness d({.start = false});
  EXPECT_EQ(d.cli({"backup"}).exit_code, 2);
  EXPECT_EQ(d.cli({"backup", "a.db", "b.db"}).exit_code, 2);
  EXPECT_EQ(d.cli({"backup", "a.db", "--limit", "3"}).exit_code, 2);
}

}  // namespace
}  // namespace chatglmd::testing
