// A store that takes no writes: the log says so once a minute with a count of what it did not
// say (on a manual clock), and a database file deleted under an open store takes no commit that
// the next start could not find.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "store/sqlite_db.hpp"
#include "store/store_error_log.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::store {
namespace {

using namespace std::chrono_literals;

struct ThrottledLog : ::testing::Test {
  core::ManualClock clock{core::UtcMs{1'700'000'000'000}};
  std::vector<std::string> lines;
  StoreErrorLog log{clock, core::Millis{60s},
                    [this](const std::string& line) { lines.push_back(line); }};
};

TEST_F(ThrottledLog, TheFirstErrorIsSaidAtOnceAndTheRestOfTheMinuteIsCounted) {
  log.report("http: /v1/chat/completions", "disk I/O error");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "http: /v1/chat/completions: store error: disk I/O error");
  for (int i = 0; i < 500; ++i) {
    clock.advance(core::Millis{100ms});
    log.report("reconcile: tick failed", "disk I/O error");
  }
  EXPECT_EQ(lines.size(), 1u) << lines.back();

  // A minute after the line: the next error goes out, after the count of the unsaid ones.
  clock.advance(core::Millis{10s});
  log.report("http: /api/v1/sale/create_pay_order", "database or disk is full");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1],
            "store error repeated 500 more times in the last 60s, not logged one by one (the "
            "last: reconcile: tick failed: disk I/O error)");
  EXPECT_EQ(lines[2], "http: /api/v1/sale/create_pay_order: store error: database or disk is full");
}

TEST_F(ThrottledLog, RecoverySaysTheCountAndTheNextFailureIsSaidAtOnce) {
  log.report("a", "full");
  clock.advance(core::Millis{5s});
  log.report("b", "full");
  log.report("c", "full");
  clock.advance(core::Millis{5s});
  log.recovered();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1],
            "store error repeated 2 more times in the last 10s, not logged one by one (the "
            "last: c: full)");
  log.recovered();  // nothing unsaid: nothing to say
  EXPECT_EQ(lines.size(), 2u);
  clock.advance(core::Millis{1s});
  log.report("d", "full again");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "d: store error: full again");
}

TEST_F(ThrottledLog, AClockSetBackDoesNotSilenceTheLog) {
  log.report("a", "full");
  clock.advance(core::Millis{-3600s});
  log.report("b", "full");
  EXPECT_EQ(lines.size(), 2u);
}

// A file deleted under an open store: commits would land in an inode nobody can open again.
TEST(MovedDatabaseFile, CommitsAreRefusedUntilThePathNamesTheFileAgain) {
  testing::TempDir dir;
  const std::string path = dir.file("a.db"), kept = dir.file("kept.db");
  Db db({path});
  db.exec_script("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER);");
  auto insert = [&](int x) { db.prepare("INSERT INTO t (x) VALUES (?1)").bind(1, x).exec(); };
  insert(1);
  ASSERT_EQ(::link(path.c_str(), kept.c_str()), 0);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  try {
    insert(2);
    FAIL() << "a commit to a deleted file was taken";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("deleted or replaced"), std::string::npos) << e.what();
  }
  {
    WriteTransaction tx(db);
    insert(3);
    EXPECT_THROW(tx.commit(), StoreError);
  }
  // Reads go on.
  auto count = db.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.int64(0), 1);

  ASSERT_EQ(::link(kept.c_str(), path.c_str()), 0);
  insert(4);
  Db again({path});
  auto rows = again.prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(rows.step());
  EXPECT_EQ(rows.text(0), "1,4");
}

}  // namespace
}  // namespace chatglmd::store
