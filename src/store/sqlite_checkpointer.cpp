#include "store/sqlite_checkpointer.hpp"

#include <pthread.h>

#include "store/sqlite_db.hpp"
#include "store/store_error.hpp"
#include "store/store_error_log.hpp"

namespace chatglmd::store {

SqliteCheckpointer::SqliteCheckpointer(Db& writer, const std::string& path, int threshold_pages)
    : writer_(writer), threshold_pages_(threshold_pages > 0 ? threshold_pages : 1) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &conn_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = conn_ ? sqlite3_errmsg(conn_) : "out of memory";
    sqlite3_close(conn_);
    throw StoreError("cannot open the checkpoint connection to " + path + ": " + msg, rc);
  }
  sqlite3_wal_autocheckpoint(conn_, 0);
  // A connection that has read nothing has not opened the WAL yet, and a checkpoint on it does
  // nothing and says SQLITE_OK: read the schema once.
  const int read =
      sqlite3_exec(conn_, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
  if (read != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(conn_);
    sqlite3_close(conn_);
    throw StoreError("cannot read " + path + " for checkpoints: " + msg, read);
  }
  thread_ = std::thread([this] { loop(); });
  std::lock_guard lock(writer_.mutex());
  sqlite3_wal_hook(writer_.raw(), &SqliteCheckpointer::on_commit, this);
}

SqliteCheckpointer::~SqliteCheckpointer() {
  {
    std::lock_guard lock(writer_.mutex());
    sqlite3_wal_autocheckpoint(writer_.raw(), kSqliteAutoCheckpointPages);  // replaces our hook
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  sqlite3_close(conn_);
}

// Runs on the writer right after its COMMIT (its mutex held, its transaction over).
int SqliteCheckpointer::on_commit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* me = static_cast<SqliteCheckpointer*>(self);
  if (wal_pages < me->threshold_pages_) return SQLITE_OK;
  bool finish_here = wal_pages >= kInlineAfterThresholds * me->threshold_pages_;
  {
    std::lock_guard lock(me->mutex_);
    switch (me->phase_) {
      case Phase::Idle:
        if (!finish_here) {
          me->phase_ = Phase::Copying;
          me->changed_.notify_all();
        }
        break;
      case Phase::Copying:
        break;
      case Phase::Copied:
        finish_here = true;
        break;
    }
    if (finish_here) {
      me->phase_ = Phase::Idle;
      ++me->counts_.inline_;
    }
  }
  // What the thread left: the pages committed while it copied. Like SQLite's own automatic
  // checkpoint, a failure here is not the commit's: the WAL keeps every frame.
  if (finish_here)
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  return SQLITE_OK;
}

void SqliteCheckpointer::loop() {
  pthread_setname_np(pthread_self(), "wal-checkpoint");  // for top -H and perf
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return phase_ == Phase::Copying || stopping_; });
      if (stopping_) return;
    }
    const int rc =
        sqlite3_wal_checkpoint_v2(conn_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    // Busy (a backup's checkpoint) or a broken disk: the WAL keeps every frame, nothing is
    // lost, and the writer's next commit past the threshold tries again.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      store_error_log().report("WAL checkpoint", sqlite3_errmsg(conn_));
    {
      std::lock_guard lock(mutex_);
      ++counts_.background;
      // An inline checkpoint meanwhile (the WAL past two thresholds) left nothing to finish.
      if (phase_ == Phase::Copying) phase_ = Phase::Copied;
    }
    changed_.notify_all();
  }
}

SqliteCheckpointer::Counts SqliteCheckpointer::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

bool SqliteCheckpointer::wait_for_background(std::uint64_t n,
                                             std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return counts_.background >= n; });
}

}  // namespace chatglmd::store
