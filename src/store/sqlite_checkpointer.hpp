#pragma once
// WAL checkpoints mostly off the committing thread. SQLite's automatic checkpoint runs inside
// the COMMIT that crosses its threshold, on the connection that committed: here the group
// committer, the one thread every durable write waits for. Copying up to a thousand pages into
// the database and syncing it there stalled every notify and chat start queued behind it.
//
// Here a commit that crosses the threshold only wakes a thread of our own, which copies the WAL
// into the database from a connection of its own (PASSIVE: it waits for nobody) while the
// committer goes on. That alone would never let the WAL start over: under a steady load a new
// commit always lands while the copy runs. So the first commit after the thread is done finishes
// the checkpoint itself, inline as SQLite's own would, but with only the pages committed during
// the copy left to copy; the next commit then writes the WAL from its beginning again. Should
// the thread fall behind (or a reader hold the WAL), a commit past two thresholds checkpoints
// inline whatever is left, so the WAL stays bounded as before.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace chatglmd::store {

class Db;

class SqliteCheckpointer {
 public:
  // Four times SQLite's default (wal_autocheckpoint 1,000 pages): a notify or a chat start
  // rewrites the same hot pages (the tails of the audit and notify tables, the indexes' upper
  // levels), so a longer WAL holds fewer distinct pages per frame and each checkpoint copies and
  // syncs less per write. The WAL grows to about 16 MiB between restarts.
  static constexpr int kDefaultThresholdPages = 4000;
  // SQLite's own default, which the writer gets back when this stops.
  static constexpr int kSqliteAutoCheckpointPages = 1000;
  // Past this many thresholds the committing connection checkpoints whatever is left.
  static constexpr int kInlineAfterThresholds = 2;

  // Watches `writer`'s commits (its WAL hook, which also turns SQLite's automatic checkpoint
  // off for it) and copies `path`'s WAL from a connection of its own. Throws StoreError when
  // that connection cannot be opened.
  SqliteCheckpointer(Db& writer, const std::string& path,
                     int threshold_pages = kDefaultThresholdPages);
  ~SqliteCheckpointer();  // gives the writer its automatic checkpoint back, then stops
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  struct Counts {
    std::uint64_t background = 0;  // copies made by our thread
    std::uint64_t inline_ = 0;     // checkpoints finished by a commit on the writer
  };
  Counts counts() const;
  // Waits until our thread made at least `n` copies, or `timeout` passed; true when it did.
  bool wait_for_background(std::uint64_t n, std::chrono::milliseconds timeout) const;

 private:
  enum class Phase { Idle, Copying, Copied };
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void loop();

  Db& writer_;
  int threshold_pages_;
  sqlite3* conn_ = nullptr;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  Phase phase_ = Phase::Idle;
  bool stopping_ = false;
  Counts counts_;
  std::thread thread_;
};

}  // namespace chatglmd::store
