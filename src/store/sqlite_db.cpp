#include "store/sqlite_db.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "store/group_commit.hpp"

namespace chatglmd::store {

std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// A database file deleted or replaced under the daemon keeps taking commits in WAL mode (SQLite
// checks this only for rollback journals), and they would be gone at the next start: every
// commit is refused while the path no longer names the open file, so notifies answer `fail` and
// Alipay resends once the file is back.
int refuse_commit_to_moved_file(void* db) {
  int moved = 0;
  return sqlite3_file_control(static_cast<sqlite3*>(db), "main", SQLITE_FCNTL_HAS_MOVED, &moved) ==
             SQLITE_OK &&
         moved;
}

void throw_sqlite(sqlite3* db, int rc, std::string_view what) {
  if (rc == SQLITE_CONSTRAINT_COMMITHOOK)
    throw StoreError(fmt::format("sqlite: {}: the database file was deleted or replaced since it "
                                 "was opened; nothing is written until it is back",
                                 what),
                     rc);
  throw StoreError(fmt::format("sqlite: {}: {} ({})", what, db ? sqlite3_errmsg(db) : "", rc), rc);
}

Statement& Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::optional<std::int64_t> value) {
  return value ? bind(index, *value) : bind_null(index);
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string sql = sqlite3_sql(stmt_) ? sqlite3_sql(stmt_) : "";
  sqlite3_reset(stmt_);
  throw_sqlite(db_, rc, "step: " + sql.substr(0, 80));
}

int Statement::exec() {
  while (step()) {
  }
  return sqlite3_changes(db_);
}

std::string Statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

namespace {

// SQLite keeps allocation statistics by default, taking a global mutex around every malloc and
// free: about a tenth of the group committer's instructions per notify. Nothing here reads
// them (sqlite3_memory_used, a soft heap limit). Must precede SQLite's initialisation, so it is
// done before the first connection opens; if something initialised SQLite earlier the call
// fails harmlessly and the statistics stay on.
//
// A group commit runs each unit in a savepoint, so every page a unit changes is copied to the
// statement journal first, and the journal is emptied when the unit's savepoint is released.
// Kept in memory: it only ever rolls one unit back before COMMIT, never anything after a crash.
// SQLite's default in-memory journal grows in 1 KiB chunks, each a malloc too large for glibc's
// fast bins (every one runs malloc_consolidate) and a free at the release: about 50 of each per
// notify on the committer thread. A positive limit makes the first chunk that large instead:
// one allocation per unit. glibc serves the first from mmap and then raises its mmap threshold
// above that size (a freed mmap chunk sets it, up to 32 MiB), so the later ones come from the
// heap's top and go back to it: no mmap, munmap or fresh page faults per unit. Only the pages
// written are touched. A unit whose journal outgrows it (thousands of pages, a bulk job step)
// has it moved to a temporary file, which is slower but as correct.
inline constexpr int kStatementJournalInMemoryBytes = 8 * 1024 * 1024;

void configure_sqlite_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, kStatementJournalInMemoryBytes);
  });
}

}  // namespace

Db::Db(const DbOptions& options) {
  configure_sqlite_once();
  const std::string& sync = options.synchronous;
  if (sync != "FULL" && sync != "NORMAL" && sync != "OFF" && sync != "EXTRA")
    throw StoreError("store.synchronous must be FULL, NORMAL, EXTRA or OFF", SQLITE_MISUSE);
  if (options.page_cache_kib <= 0)  // "-0" would be no cache at all, "--N" a comment
    throw StoreError("sqlite: the page cache must be at least 1 KiB", SQLITE_MISUSE);
  int flags = SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
  if (options.read_only)
    flags |= SQLITE_OPEN_READONLY;
  else
    flags |= SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(options.path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    // SQLite's "unable to open database file" does not say why; the OS does.
    if (int os_error = db_ ? sqlite3_system_errno(db_) : 0; os_error != 0)
      msg += fmt::format(" ({})", std::strerror(os_error));
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(fmt::format("cannot open database {}: {}", options.path, msg), rc);
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    if (!options.read_only) sqlite3_commit_hook(db_, refuse_commit_to_moved_file, db_);
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    exec_script("PRAGMA foreign_keys = ON;");
    // Only the commands that may create or upgrade the file (migrate, serve) switch it to WAL:
    // that rewrites the header and leaves a -wal file owned by whoever ran the command, so an
    // admin command run as root on a file an operator keeps in rollback mode must only look.
    const bool may_change_file = !options.read_only && options.create;
    {
      auto mode = prepare(may_change_file ? "PRAGMA journal_mode = WAL" : "PRAGMA journal_mode");
      if (mode.step()) journal_mode_ = mode.text(0);
    }
    exec_script("PRAGMA synchronous = " + sync + ";");
    // Negative: KiB, as PRAGMA cache_size takes it (positive would be pages).
    exec_script(fmt::format("PRAGMA cache_size = -{};", options.page_cache_kib));
  } catch (...) {
    // The destructor does not run for a constructor that throws: close here.
    cache_.clear();
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Db::~Db() {
  cache_.clear();
  sqlite3_close(db_);
}

Query Db::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Query(it->second->reset());
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "prepare: " + std::string(sql.substr(0, 80)));
  auto statement = std::make_unique<Statement>(db_, stmt);
  Statement& prepared = *statement;
  cache_.emplace(std::string(sql), std::move(statement));
  return Query(prepared);
}

void Db::exec_script(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : "";
    sqlite3_free(err);
    throw StoreError("sqlite: " + msg, rc);
  }
}

WriteTransaction::WriteTransaction(Db& db) : db_(db) {
  const bool open = sqlite3_get_autocommit(db.raw()) == 0;
  // An I/O error in an earlier unit of a group commit can roll the whole transaction back: a
  // later unit must fail with the batch, not commit alone while the batch reports failure.
  if (!open && in_group_batch())
    throw StoreError("sqlite: the group commit's transaction was rolled back by an earlier error",
                     SQLITE_ABORT);
  kind_ = !open ? Kind::Begin : db_.write_depth_ >= 2 ? Kind::Shared : Kind::Savepoint;
  if (kind_ == Kind::Shared) {
    changes_at_start_ = sqlite3_total_changes64(db_.raw());
  } else {
    db_.prepare(kind_ == Kind::Begin ? "BEGIN IMMEDIATE" : "SAVEPOINT chatglmd_tx").exec();
    outer_abandoned_ = db_.nested_write_abandoned_;
    db_.nested_write_abandoned_ = false;
  }
  ++db_.write_depth_;
}

void WriteTransaction::roll_back() {
  if (kind_ == Kind::Begin) {
    db_.prepare("ROLLBACK").exec();
  } else {
    db_.prepare("ROLLBACK TO chatglmd_tx").exec();
    db_.prepare("RELEASE chatglmd_tx").exec();
  }
}

WriteTransaction::~WriteTransaction() {
  --db_.write_depth_;
  if (kind_ == Kind::Shared) {
    // Nothing written: nothing to undo. Written: only the parent's savepoint can undo it.
    if (!done_ && sqlite3_total_changes64(db_.raw()) != changes_at_start_)
      db_.nested_write_abandoned_ = true;
    return;
  }
  db_.nested_write_abandoned_ = outer_abandoned_;  // the flag is the parent's again
  if (done_) return;
  try {
    roll_back();
  } catch (...) {
    // The transaction may already be gone (an I/O error rolls back by itself).
  }
}

void WriteTransaction::commit() {
  if (kind_ == Kind::Shared) {
    done_ = true;
    return;
  }
  if (db_.nested_write_abandoned_) {
    done_ = true;  // rolled back here, not again in the destructor
    roll_back();
    throw StoreError(
        "sqlite: a nested write ended half done (rows changed, not committed); the transaction "
        "around it was rolled back",
        SQLITE_ABORT);
  }
  db_.prepare(kind_ == Kind::Begin ? "COMMIT" : "RELEASE chatglmd_tx").exec();
  done_ = true;
  if (kind_ == Kind::Begin) db_.note_committed_write();
}

ReadTransaction::ReadTransaction(Db& db) : db_(db), own_(sqlite3_get_autocommit(db.raw()) != 0) {
  if (own_) db_.prepare("BEGIN DEFERRED").exec();
}

ReadTransaction::~ReadTransaction() {
  if (!own_) return;
  try {
    db_.prepare("COMMIT").exec();
  } catch (...) {
    // Nothing was written: ending it any way will do, but it must end (it pins the WAL).
    sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace chatglmd::store
