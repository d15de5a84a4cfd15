#pragma once
// A thin RAII layer over one libpq connection, shaped like sqlite_db.hpp so the repositories read
// the same: statements prepared once per connection (named by their SQL text), parameters bound,
// never spliced into the SQL. A lost connection is reconnected on the next call, with a backoff,
// and the statements are prepared again there.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store_error.hpp"

namespace chatglmd::store {

// StoreError::code() of a PostgreSQL error (its SQLSTATE is in the message).
inline constexpr int kPgErrorCode = 7001;

struct PgOptions {
  std::string url;       // a libpq URI or conninfo string: postgresql://user@host:port/db
  std::string password;  // from store.password_file; empty: libpq's PGPASSFILE / ~/.pgpass
  int connect_timeout_s = 5;
  std::string application_name = "chatglmd";
};

// The connection target as an operator reads it, never with a password: "host=h port=5432
// dbname=d user=u" (only what the URL names). For error messages and logs.
std::string describe_conninfo(const std::string& url);

class PgConn;

// One run of a prepared statement: bind, then step() through the rows or exec() for the count.
class PgQuery {
 public:
  PgQuery(PgConn& conn, const std::string* sql, const std::string* name)
      : conn_(&conn), sql_(sql), name_(name) {}
  PgQuery(PgQuery&&) noexcept = default;
  PgQuery(const PgQuery&) = delete;
  PgQuery& operator=(const PgQuery&) = delete;

  PgQuery& bind(int index, std::int64_t value);
  PgQuery& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  PgQuery& bind(int index, std::string_view value);
  PgQuery& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  PgQuery& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  PgQuery& bind_null(int index);
  PgQuery& bind(int index, std::optional<std::int64_t> value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Runs the statement on the first call; true while a row is ready.
  bool step();
  // Runs the statement; the rows it changed (or returned).
  int exec();

  std::int64_t int64(int col) const;
  bool is_null(int col) const;
  std::string text(int col) const;

 private:
  void run();
  PgConn* conn_;
  const std::string* sql_;
  const std::string* name_;
  std::vector<std::optional<std::string>> params_;
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_{nullptr, PQclear};
  int row_ = -1;
};

class PgConn {
 public:
  // Connects at once; throws StoreError naming the target (password hidden) when it cannot.
  explicit PgConn(PgOptions options);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  PgQuery prepare(const std::string& sql);
  // Simple-query protocol, no parameters: migrations and transaction control only.
  void exec_script(const std::string& sql);
  // True inside a PgWriteTransaction or PgReadTransaction (counted here, not asked of libpq: a
  // connection lost mid-transaction must never be reconnected under the caller's feet, or a
  // later COMMIT would report success for work that died with the old session).
  bool in_transaction() const { return depth_ > 0; }
  // Transaction control. BEGIN, SAVEPOINT and RELEASE cannot fail on a healthy session, so they
  // are not sent alone: they wait (`deferred_`) and go out in one pipeline with the next
  // statement, one round trip for all. A BEGIN or SAVEPOINT ended before anything ran inside
  // it is never sent at all.
  void begin(const char* sql);    // a literal: BEGIN ... or kSavepoint; depth + 1
  void release_savepoint();       // RELEASE: depth - 1
  void rollback_savepoint();      // ROLLBACK TO and RELEASE: depth - 1
  void end_top(const char* sql);  // a literal: COMMIT (a read-only one) or ROLLBACK; depth - 1
  // COMMIT that fails unless the server really committed (an aborted transaction "commits" as a
  // ROLLBACK without an error). When the connection drops after COMMIT was sent, its reply lost,
  // a new session asks the server what became of the transaction (txid_status): committed
  // returns normally, rolled back throws, and only a server that cannot be asked within
  // kCommitOutcomeWait throws saying the outcome is unknown.
  void commit_top();
  // Recursive: a group commit holds it across many repository calls that take it again.
  std::recursive_mutex& mutex() { return mutex_; }
  std::uint64_t committed_writes() const { return committed_writes_.load(); }
  void note_committed_write() { ++committed_writes_; }
  const std::string& target() const { return target_; }

  // Runs a prepared statement (PgQuery's engine).
  PGresult* run_prepared(const std::string& sql, const std::string& name,
                         const std::vector<std::optional<std::string>>& params);

  // How long a commit whose reply was lost may spend finding out what became of it.
  static constexpr std::chrono::seconds kCommitOutcomeWait{5};
  static constexpr const char* kSavepoint = "SAVEPOINT chatglmd_tx";
  static constexpr const char* kRelease = "RELEASE chatglmd_tx";

  // Round trips to the server so far (tests count them).
  std::uint64_t round_trips() const { return round_trips_; }

 private:
  enum class Outcome { Committed, RolledBack, Unknown };
  void ensure_connected();
  [[noreturn]] void fail(PGresult* result, std::string_view what);
  std::string current_transaction_id();
  // Sends the deferred commands and then whatever `send_last` queues (it returns how many
  // commands, 0 or more, or -1 when libpq refused one) as one pipeline, and returns the last
  // command's result (nullptr when it sent none). `ran`: how many commands ran before a
  // failure. A deferred command that fails poisons the transaction (see `poisoned_`); any
  // failure throws.
  template <class SendLast>
  PGresult* pipelined(std::string_view what, std::size_t& ran, SendLast&& send_last);
  void flush_deferred();
  void throw_if_poisoned() const;
  bool healthy_transaction() const;
  // Empties the queue as a top-level COMMIT or ROLLBACK ends; true when the transaction ran
  // nothing (only its BEGIN waited).
  bool end_deferred_at_top();
  Outcome outcome_of(const std::string& transaction_id, std::string& why);
  PgOptions options_;
  std::string target_;
  PGconn* conn_ = nullptr;
  std::map<std::string, std::string, std::less<>> statements_;  // SQL text -> statement name
  std::map<std::string, bool> prepared_;  // names prepared on the current session
  int depth_ = 0;
  std::vector<const char*> deferred_;  // transaction control not sent yet, oldest first
  std::vector<const char*> sending_;   // the deferred commands of the pipeline being sent
  // A deferred SAVEPOINT or RELEASE failed in a pipeline. Which savepoints exist is then
  // unknown, and a ROLLBACK TO could land on an outer unit's savepoint and "recover" a
  // transaction that lost that unit's work, so nothing more runs: the top level rolls back.
  bool poisoned_ = false;
  std::uint64_t round_trips_ = 0;
  std::recursive_mutex mutex_;
  std::atomic<std::uint64_t> committed_writes_{0};
  std::chrono::steady_clock::time_point next_reconnect_{};
  std::chrono::milliseconds backoff_{0};
};

// BEGIN ISOLATION LEVEL READ COMMITTED, or a SAVEPOINT inside an open transaction, so repository
// calls compose into one group commit and a failing one rolls back alone. Destruction without
// commit() rolls back.
class PgWriteTransaction {
 public:
  explicit PgWriteTransaction(PgConn& conn);
  ~PgWriteTransaction();
  PgWriteTransaction(const PgWriteTransaction&) = delete;
  PgWriteTransaction& operator=(const PgWriteTransaction&) = delete;
  void commit();

 private:
  PgConn& conn_;
  bool nested_ = false;
  bool done_ = false;
};

// One REPEATABLE READ snapshot for reads that must agree (a list and its change stamp); inside
// an open transaction it adds nothing.
class PgReadTransaction {
 public:
  explicit PgReadTransaction(PgConn& conn);
  ~PgReadTransaction();
  PgReadTransaction(const PgReadTransaction&) = delete;
  PgReadTransaction& operator=(const PgReadTransaction&) = delete;

 private:
  PgConn& conn_;
  bool own_ = false;
};

}  // namespace chatglmd::store
