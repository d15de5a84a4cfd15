// WAL checkpoints leave the committing connection: its COMMIT no longer copies the WAL into the
// database (SQLite's automatic checkpoint), the checkpointer's own thread does.
#include "store/sqlite_checkpointer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "store/sqlite_db.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::store {
namespace {

constexpr auto kPatience = std::chrono::seconds(30);  // a bound for a stuck thread, not a pace

off_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

class Checkpointer : public ::testing::Test {
 protected:
  Checkpointer() : path_(dir_.file("t.db")), db_({path_}) {
    EXPECT_EQ(db_.journal_mode(), "wal");
    db_.exec_script("CREATE TABLE item (id INTEGER PRIMARY KEY, body BLOB)");
  }
  // About `pages` WAL pages, committed `per_commit` rows at a time (a row fills about a page).
  void write_pages(int pages, int per_commit = 20) {
    for (int done = 0; done < pages;) {
      std::lock_guard lock(db_.mutex());
      WriteTransaction tx(db_);
      for (int i = 0; i < per_commit && done < pages; ++i, ++done)
        db_.prepare("INSERT INTO item (body) VALUES (zeroblob(3500))").exec();
      tx.commit();
    }
  }
  int rows() {
    std::lock_guard lock(db_.mutex());
    auto q = db_.prepare("SELECT count(*) FROM item");
    q.step();
    return static_cast<int>(q.int64(0));
  }

  testing::TempDir dir_;
  std::string path_;
  Db db_;
};

TEST_F(Checkpointer, TheWritersCommitsNoLongerCopyTheWalIntoTheDatabase) {
  const off_t before = file_size(path_);
  {
    SqliteCheckpointer never(db_, path_, /*threshold_pages=*/1'000'000);
    // Past SQLite's own threshold (1,000 pages): its automatic checkpoint would have copied
    // them into the database file inside one of these commits.
    write_pages(1500);
    EXPECT_EQ(file_size(path_), before);
    EXPECT_GT(file_size(path_ + "-wal"), 1500 * 4096);
    EXPECT_EQ(never.counts().background, 0u);
    EXPECT_EQ(never.counts().inline_, 0u);
  }
  // Given back on destruction: the next commit past the threshold checkpoints as it used to.
  write_pages(20);
  EXPECT_GT(file_size(path_), before + 1000 * 4096);
  EXPECT_EQ(rows(), 1520);
}

TEST_F(Checkpointer, ItsThreadCopiesTheWalOnceTheThresholdIsCrossed) {
  const off_t before = file_size(path_);
  SqliteCheckpointer checkpointer(db_, path_, /*threshold_pages=*/200);
  write_pages(150);
  EXPECT_EQ(checkpointer.counts().background, 0u);  // below the threshold: nothing asked for
  write_pages(60, /*per_commit=*/60);
  ASSERT_TRUE(checkpointer.wait_for_background(1, kPatience));
  EXPECT_GT(file_size(path_), before + 200 * 4096);  // copied by the thread, not by a commit
  EXPECT_EQ(checkpointer.counts().inline_, 0u);
  EXPECT_EQ(rows(), 210);
}

TEST_F(Checkpointer, TheWalStartsOverAfterACompleteCheckpointSoItStaysBounded) {
  SqliteCheckpointer checkpointer(db_, path_, /*threshold_pages=*/100);
  // Each round crosses the threshold, lets the thread copy, and commits once more: that commit
  // finishes the checkpoint (the pages the thread did not see), so the round after writes the
  // WAL from its beginning instead of growing it.
  for (std::uint64_t round = 1; round <= 10; ++round) {
    write_pages(120);
    ASSERT_TRUE(checkpointer.wait_for_background(round, kPatience)) << "round " << round;
    write_pages(1);
    EXPECT_EQ(checkpointer.counts().inline_, round);
  }
  EXPECT_LT(file_size(path_ + "-wal"), 400 * 4096);  // 1,210 pages went through it
  EXPECT_EQ(rows(), 1210);
}

}  // namespace
}  // namespace chatglmd::store
