#pragma once
// A thin RAII layer over one SQLite connection: statements prepared once and cached by their
// SQL text, bound parameters only, and IMMEDIATE transactions for every read-then-write.
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "store/store_error.hpp"

namespace chatglmd::store {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Resets and clears bindings, so a cached statement starts clean.
  Statement& reset();
  void release() { sqlite3_reset(stmt_); }
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind_null(int index);
  Statement& bind(int index, std::optional<std::int64_t> value);

  // True when a row is ready; false when done.
  bool step();
  // Runs to completion; returns sqlite3_changes().
  int exec();

  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

struct DbOptions {
  std::string path;
  std::string synchronous =
      "FULL";  // FULL for the order file: a confirmed payment survives power loss
  int busy_timeout_ms = 5000;
  bool read_only = false;
  // False: the file must exist already (admin commands must not leave an empty database behind).
  bool create = true;
  // The most database pages this connection keeps in memory, in KiB (filled only as pages are
  // read). The default keeps the hot pages of the order, notify and audit indexes of a store
  // that outgrew SQLite's own 2 MiB; a connection that reads a few rows needs far less.
  int page_cache_kib = 32 * 1024;
};

// A use of a cached statement. Destroying it resets the statement, so no read transaction is
// left open by a SELECT that was not stepped to the end (that would pin the WAL and turn the
// next write on this connection into SQLITE_BUSY instead of a wait).
class Query {
 public:
  explicit Query(Statement& s) : s_(&s) {}
  ~Query() {
    if (s_) s_->release();
  }
  Query(Query&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  template <typename T>
  Query& bind(int index, T&& value) {
    s_->bind(index, std::forward<T>(value));
    return *this;
  }
  Query& bind_null(int index) {
    s_->bind_null(index);
    return *this;
  }
  bool step() { return s_->step(); }
  int exec() { return s_->exec(); }
  std::int64_t int64(int col) const { return s_->int64(col); }
  bool is_null(int col) const { return s_->is_null(col); }
  std::string text(int col) const { return s_->text(col); }

 private:
  Statement* s_;
};

class Db {
 public:
  explicit Db(const DbOptions& options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Prepared once, cached for the life of the connection. A string_view, so the statements the
  // group committer runs thousands of times a second are found without copying their text.
  Query prepare(std::string_view sql);
  void exec_script(const std::string& sql);  // no parameters: migrations and pragmas only
  std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* raw() { return db_; }
  // As found (or set, when the open may create the file): "wal", "delete", ...
  const std::string& journal_mode() const { return journal_mode_; }
  // Write transactions this connection committed (the readiness probe skips its own write when
  // real ones are going through).
  std::uint64_t committed_writes() const { return committed_writes_.load(); }
  void note_committed_write() { ++committed_writes_; }
  // Recursive: a group commit holds it across many repository calls that take it again.
  std::recursive_mutex& mutex() { return mutex_; }

 private:
  friend class WriteTransaction;
  sqlite3* db_ = nullptr;
  // WriteTransactions open on this connection (under mutex_), and whether one that shared its
  // parent's savepoint ended with rows changed but not committed (see WriteTransaction).
  int write_depth_ = 0;
  bool nested_write_abandoned_ = false;
  // Hashed, and found by a string_view without building a string: an ordered map compared the
  // SQL text at every level of the tree, and most statements share long prefixes ("SELECT id,
  // order_id, ... FROM openai_order WHERE ..."), so each lookup memcmp'd hundreds of bytes
  // several times. Keyed by the text, not its address: SQL built at run time may reuse a freed
  // buffer for different text.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept {
      return std::hash<std::string_view>{}(sql);
    }
  };
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> cache_;
  std::recursive_mutex mutex_;
  std::string journal_mode_;
  std::atomic<std::uint64_t> committed_writes_{0};
};

// BEGIN IMMEDIATE takes the write lock up front, so a read-then-write never deadlocks into
// SQLITE_BUSY halfway; destruction without commit() rolls back. Inside an open transaction it
// becomes a SAVEPOINT, so repository calls compose into one group commit and a failing one
// rolls back alone (each unit of a group commit is such a savepoint).
// One level further in (a repository call inside a unit, or inside a call that is itself
// nested) it issues no statement and shares its parent's savepoint: the group committer's
// units would otherwise pay a SAVEPOINT and a RELEASE for every repository call. Should such a
// shared one end without commit() after changing rows (its body threw, or returned early after
// a write), its parent's commit() rolls the parent back and throws instead of keeping half of
// the change: the unit fails as a whole, as it would have had the exception reached it.
class WriteTransaction {
 public:
  explicit WriteTransaction(Db& db);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void commit();

 private:
  enum class Kind { Begin, Savepoint, Shared };
  void roll_back();
  Db& db_;
  Kind kind_ = Kind::Begin;
  bool done_ = false;
  std::int64_t changes_at_start_ = 0;  // Shared: rows changed on the connection so far
  bool outer_abandoned_ = false;  // Begin, Savepoint: the flag it replaced, restored at its end
};

// A deferred transaction for reads that must agree with each other (a list and its change
// stamp): in WAL mode writers elsewhere go on, and every read in it sees one snapshot. Inside an
// open transaction it adds nothing.
class ReadTransaction {
 public:
  explicit ReadTransaction(Db& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Db& db_;
  bool own_ = false;
};

// Bookkeeping stamps (created_at/updated_at) only; every decision uses the injected clock.
std::int64_t wall_clock_ms();

[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view what);

}  // namespace chatglmd::store
