#include "store/pg_conn.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <thread>

namespace chatglmd::store {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string describe_conninfo(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &err);
  if (options == nullptr) {
    std::string why = trimmed(err);
    PQfreemem(err);
    return fmt::format("an unreadable store.url ({})", why);
  }
  std::string out;
  for (const char* key : {"host", "hostaddr", "port", "dbname", "user", "sslmode"}) {
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, key) == 0 && o->val != nullptr && *o->val != '\0')
        out += fmt::format("{}{}={}", out.empty() ? "" : " ", key, o->val);
    }
  }
  PQconninfoFree(options);
  return out.empty() ? "the libpq defaults" : out;
}

PgQuery& PgQuery::bind(int index, std::int64_t value) {
  if (params_.size() < static_cast<std::size_t>(index)) params_.resize(index);
  params_[index - 1] = std::to_string(value);
  return *this;
}

PgQuery& PgQuery::bind(int index, std::string_view value) {
  if (params_.size() < static_cast<std::size_t>(index)) params_.resize(index);
  params_[index - 1] = std::string(value);
  return *this;
}

PgQuery& PgQuery::bind_null(int index) {
  if (params_.size() < static_cast<std::size_t>(index)) params_.resize(index);
  params_[index - 1].reset();
  return *this;
}

void PgQuery::run() {
  result_.reset(conn_->run_prepared(*sql_, *name_, params_));
  row_ = -1;
}

bool PgQuery::step() {
  if (!result_) run();
  ++row_;
  return row_ < PQntuples(result_.get());
}

int PgQuery::exec() {
  run();
  if (PQresultStatus(result_.get()) == PGRES_TUPLES_OK) return PQntuples(result_.get());
  const char* n = PQcmdTuples(result_.get());
  return n && *n ? std::atoi(n) : 0;
}

std::int64_t PgQuery::int64(int col) const {
  const char* v = PQgetvalue(result_.get(), row_, col);
  std::int64_t out = 0;
  std::from_chars(v, v + std::strlen(v), out);
  return out;
}

bool PgQuery::is_null(int col) const {
  return PQgetisnull(result_.get(), row_, col) != 0;
}

std::string PgQuery::text(int col) const {
  return std::string(PQgetvalue(result_.get(), row_, col),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row_, col)));
}

PgConn::PgConn(PgOptions options) : options_(std::move(options)) {
  target_ = describe_conninfo(options_.url);
  const std::string timeout = std::to_string(options_.connect_timeout_s);
  const char* keys[] = {"dbname", "password", "connect_timeout", "application_name", nullptr};
  const char* values[] = {options_.url.c_str(),
                          options_.password.empty() ? nullptr : options_.password.c_str(),
                          timeout.c_str(), options_.application_name.c_str(), nullptr};
  // expand_dbname: the first value is the whole URI; the later ones add to it.
  conn_ = PQconnectdbParams(keys, values, 1);
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    std::string why = conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw StoreError(fmt::format("cannot connect to PostgreSQL at {}: {}", target_, why),
                     kPgErrorCode);
  }
  // Every time the store keeps is UTC milliseconds in bigint columns; nothing depends on the
  // session's time zone, but messages and now() read better in UTC.
  exec_script("SET TIME ZONE 'UTC'; SET client_min_messages = warning");
}

PgConn::~PgConn() {
  PQfinish(conn_);
}

void PgConn::ensure_connected() {
  // A pipeline that could not be left (libpq refused a command halfway) is a session gone bad.
  const bool usable = PQpipelineStatus(conn_) == PQ_PIPELINE_OFF;
  if (usable && PQstatus(conn_) == CONNECTION_OK) return;
  if (depth_ > 0)
    throw StoreError(fmt::format("lost the connection to PostgreSQL at {} in a transaction: it "
                                 "was rolled back",
                                 target_),
                     kPgErrorCode);
  const auto now = Clock::now();
  if (now < next_reconnect_)
    throw StoreError(
        fmt::format(
            "no connection to PostgreSQL at {} (next try in {} ms)", target_,
            std::chrono::duration_cast<std::chrono::milliseconds>(next_reconnect_ - now).count()),
        kPgErrorCode);
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    backoff_ = std::min(kMaxBackoff, std::max(kFirstBackoff, backoff_ * 2));
    next_reconnect_ = Clock::now() + backoff_;
    throw StoreError(fmt::format("cannot reconnect to PostgreSQL at {}: {}", target_,
                                 trimmed(PQerrorMessage(conn_))),
                     kPgErrorCode);
  }
  backoff_ = std::chrono::milliseconds{0};
  prepared_.clear();  // a new session has none of the old one's statements
  deferred_.clear();  // depth 0: there is none, but nothing may outlive its session
  poisoned_ = false;
  exec_script("SET TIME ZONE 'UTC'; SET client_min_messages = warning");
}

void PgConn::fail(PGresult* result, std::string_view what) {
  std::string message = trimmed(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  // Copied before PQclear: the field points into the result.
  const char* field = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = field ? field : "";
  PQclear(result);
  if (PQstatus(conn_) != CONNECTION_OK)
    message = fmt::format("lost the connection to PostgreSQL at {}: {}", target_, message);
  throw StoreError(fmt::format("postgresql: {}: {}{}", what, message,
                               state.empty() ? "" : fmt::format(" (SQLSTATE {})", state)),
                   kPgErrorCode);
}

PgQuery PgConn::prepare(const std::string& sql) {
  ensure_connected();
  auto it = statements_.find(sql);
  if (it == statements_.end())
    it = statements_.emplace(sql, fmt::format("s{}", statements_.size() + 1)).first;
  return PgQuery(*this, &it->first, &it->second);
}

PGresult* PgConn::run_prepared(const std::string& sql, const std::string& name,
                               const std::vector<std::optional<std::string>>& params) {
  ensure_connected();
  throw_if_poisoned();
  const bool unprepared = !prepared_.count(name);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const int count = static_cast<int>(values.size());
  // One round trip: whatever transaction control waits, the Parse of a statement this session
  // has not prepared yet, and the Execute.
  const std::size_t ahead = deferred_.size();
  std::size_t ran = 0;
  try {
    PGresult* r = pipelined(std::string_view(sql).substr(0, 80), ran, [&] {
      if (unprepared && PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr) != 1) return -1;
      if (PQsendQueryPrepared(conn_, name.c_str(), count, values.data(), nullptr, nullptr, 0) != 1)
        return -1;
      return unprepared ? 2 : 1;
    });
    if (unprepared) prepared_[name] = true;
    return r;
  } catch (const StoreError&) {
    // A statement prepared before the failure stays prepared (it is not transactional).
    if (unprepared && ran > ahead) prepared_[name] = true;
    throw;
  }
}

template <class SendLast>
PGresult* PgConn::pipelined(std::string_view what, std::size_t& ran, SendLast&& send_last) {
  ran = 0;
  if (PQenterPipelineMode(conn_) != 1) fail(nullptr, "entering pipeline mode");
  // The deferred commands move to `sending_` (named there if one fails); the queue keeps the
  // buffer `sending_` had, so neither allocates once grown.
  sending_.clear();
  sending_.swap(deferred_);
  const std::vector<const char*>& commands = sending_;
  const std::size_t deferred = commands.size();
  bool sent = true;
  for (const char* command : commands)
    sent = sent && PQsendQueryParams(conn_, command, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  const int more = sent ? send_last() : -1;
  sent = sent && more >= 0 && PQpipelineSync(conn_) == 1;
  ++round_trips_;
  const std::size_t total = deferred + static_cast<std::size_t>(std::max(more, 0));
  PGresult* last = nullptr;
  PGresult* error = nullptr;
  std::size_t failed_at = total;  // the command the first error answered
  std::size_t command = 0;        // whose results are being read: each ends with a nullptr
  while (sent) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {
      if (PQstatus(conn_) != CONNECTION_OK) break;
      ++command;
      continue;
    }
    const auto status = PQresultStatus(r);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      if (command + 1 == total) {
        PQclear(last);
        last = r;
      } else {
        PQclear(r);
      }
    } else if (status != PGRES_PIPELINE_ABORTED && error == nullptr) {
      error = r;
      failed_at = command;
    } else {
      PQclear(r);
    }
  }
  ran = error ? failed_at : command;
  const bool left_pipeline = PQexitPipelineMode(conn_) == 1;
  const bool complete = sent && left_pipeline && error == nullptr && command == total;
  if (complete) return last;
  PQclear(last);
  // Only a deferred command's failure leaves the savepoints in doubt; the statement's own leaves
  // the transaction as a lone statement's would (its savepoint rolls it back).
  if (depth_ > 0 && (failed_at < deferred || error == nullptr)) poisoned_ = true;
  if (error == nullptr && PQstatus(conn_) == CONNECTION_OK && !left_pipeline)
    throw StoreError(fmt::format("postgresql: {}: the pipeline did not end: {}", what,
                                 trimmed(PQerrorMessage(conn_))),
                     kPgErrorCode);
  if (failed_at < deferred)
    fail(error, fmt::format("{} (sent ahead of {})", commands[failed_at], what));
  fail(error, what);
}

void PgConn::flush_deferred() {
  // The result is the last deferred command's: nothing to read in it, but it must be freed.
  std::size_t ran = 0;
  if (!deferred_.empty()) PQclear(pipelined("BEGIN/SAVEPOINT/RELEASE", ran, [] { return 0; }));
}

void PgConn::throw_if_poisoned() const {
  if (poisoned_)
    throw StoreError("postgresql: a savepoint of this transaction failed; it will be rolled back",
                     kPgErrorCode);
}

bool PgConn::healthy_transaction() const {
  return !poisoned_ && PQtransactionStatus(conn_) != PQTRANS_INERROR;
}

void PgConn::exec_script(const std::string& sql) {
  ensure_connected();
  throw_if_poisoned();
  flush_deferred();
  ++round_trips_;
  PGresult* r = PQexec(conn_, sql.c_str());
  const auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, sql.substr(0, 80));
  PQclear(r);
}

void PgConn::begin(const char* sql) {
  // At depth 0 the only place a lost session may be replaced; deeper it throws.
  ensure_connected();
  throw_if_poisoned();
  // In an aborted transaction a SAVEPOINT fails: sent now, so that it fails here, as a lone
  // command would, and nothing is begun.
  if (depth_ > 0 && !healthy_transaction())
    exec_script(sql);
  else
    deferred_.push_back(sql);
  ++depth_;
}

void PgConn::release_savepoint() {
  --depth_;
  if (!deferred_.empty() && deferred_.back() == kSavepoint) {
    deferred_.pop_back();  // nothing ran inside it
    return;
  }
  throw_if_poisoned();
  // In an aborted transaction RELEASE fails, and must fail here: deferred, it would fail in
  // the next unit's pipeline and take that unit's place.
  if (healthy_transaction())
    deferred_.push_back(kRelease);
  else
    exec_script(kRelease);
}

void PgConn::rollback_savepoint() {
  --depth_;
  if (!deferred_.empty() && deferred_.back() == kSavepoint) {
    deferred_.pop_back();  // nothing ran inside it
    return;
  }
  // Poisoned: left aborted, for the top level to roll back (see `poisoned_`).
  if (poisoned_) return;
  exec_script("ROLLBACK TO chatglmd_tx; RELEASE chatglmd_tx");
}

bool PgConn::end_deferred_at_top() {
  const bool nothing_ran =
      deferred_.size() == 1 && std::strncmp(deferred_.front(), "BEGIN", 5) == 0;
  // Otherwise whatever waits is RELEASEs, which the COMMIT or ROLLBACK makes needless.
  deferred_.clear();
  return nothing_ran;
}

void PgConn::end_top(const char* sql) {
  --depth_;
  if (end_deferred_at_top()) return;  // its BEGIN never went out
  poisoned_ = false;
  exec_script(sql);
}

void PgConn::commit_top() {
  --depth_;
  if (end_deferred_at_top()) return;  // nothing ran inside it: nothing to commit
  // Never reconnect here: COMMIT on a fresh session only warns "no transaction in progress",
  // and a ROLLBACK there would wait for a server that may be down.
  if (PQstatus(conn_) != CONNECTION_OK) {
    poisoned_ = false;
    throw StoreError(fmt::format("lost the connection to PostgreSQL at {} before COMMIT: the "
                                 "transaction was rolled back",
                                 target_),
                     kPgErrorCode);
  }
  if (poisoned_ || PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    poisoned_ = false;
    exec_script("ROLLBACK");
    throw StoreError("postgresql: the transaction failed earlier and was rolled back",
                     kPgErrorCode);
  }
  // Asked before COMMIT, so that a COMMIT whose reply never comes can be looked up afterwards.
  const std::string transaction_id = current_transaction_id();
  ++round_trips_;
  PGresult* r = PQexec(conn_, "COMMIT");
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQstatus(conn_) != CONNECTION_OK) {
    const std::string lost = trimmed(PQerrorMessage(conn_));
    PQclear(r);
    std::string why;
    switch (outcome_of(transaction_id, why)) {
      case Outcome::Committed:
        note_committed_write();
        return;
      case Outcome::RolledBack:
        throw StoreError(fmt::format("lost the connection to PostgreSQL at {} at COMMIT ({}): the "
                                     "transaction was rolled back",
                                     target_, lost),
                         kPgErrorCode);
      case Outcome::Unknown:
        throw CommitOutcomeUnknown(
            fmt::format("lost the connection to PostgreSQL at {} at COMMIT ({}): "
                        "whether transaction {} committed is unknown: {}",
                        target_, lost, transaction_id, why),
            kPgErrorCode);
    }
  }
  if (PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, "COMMIT");
  const bool committed = std::strcmp(PQcmdStatus(r), "COMMIT") == 0;
  PQclear(r);
  if (!committed)
    throw StoreError("postgresql: the transaction was rolled back by the server", kPgErrorCode);
  note_committed_write();
}

std::string PgConn::current_transaction_id() {
  ++round_trips_;
  PGresult* r = PQexec(conn_, "SELECT txid_current()");
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) fail(r, "txid_current()");
  std::string id = PQgetvalue(r, 0, 0);
  PQclear(r);
  return id;
}

// On a new session: the old one may still be finishing the COMMIT it read before the drop, so
// "in progress" is asked again until the wait ends.
PgConn::Outcome PgConn::outcome_of(const std::string& transaction_id, std::string& why) {
  const auto until = Clock::now() + kCommitOutcomeWait;
  auto pause = kFirstBackoff;
  for (;;) {
    PQreset(conn_);
    if (PQstatus(conn_) == CONNECTION_OK) {
      prepared_.clear();  // a new session has none of the old one's statements
      PQclear(PQexec(conn_, "SET TIME ZONE 'UTC'; SET client_min_messages = warning"));
      const char* values[] = {transaction_id.c_str()};
      PGresult* r = PQexecParams(conn_, "SELECT txid_status($1::bigint)", 1, nullptr, values,
                                 nullptr, nullptr, 0);
      const bool answered = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
      const std::string status = answered ? PQgetvalue(r, 0, 0) : "";
      why = answered ? "its status is \"" + status + "\"" : trimmed(PQerrorMessage(conn_));
      PQclear(r);
      if (status == "committed") return Outcome::Committed;
      if (status == "aborted") return Outcome::RolledBack;
    } else {
      why = trimmed(PQerrorMessage(conn_));
    }
    if (Clock::now() + pause > until) return Outcome::Unknown;
    std::this_thread::sleep_for(pause);
    pause = std::min(kMaxBackoff, pause * 2);
  }
}

PgWriteTransaction::PgWriteTransaction(PgConn& conn) : conn_(conn), nested_(conn.in_transaction()) {
  // Said, not assumed: the compare-and-sets and upserts are written for READ COMMITTED (a
  // waiting writer re-reads the row it waited for), and a server's or role's
  // default_transaction_isolation could make it another level.
  conn_.begin(nested_ ? PgConn::kSavepoint : "BEGIN ISOLATION LEVEL READ COMMITTED");
}

PgWriteTransaction::~PgWriteTransaction() {
  if (done_) return;
  try {
    if (nested_) {
      conn_.rollback_savepoint();
    } else {
      conn_.end_top("ROLLBACK");
    }
  } catch (...) {
    // The connection may be gone, and the transaction with it.
  }
}

void PgWriteTransaction::commit() {
  done_ = true;
  if (nested_) {
    conn_.release_savepoint();
  } else {
    conn_.commit_top();
  }
}

PgReadTransaction::PgReadTransaction(PgConn& conn) : conn_(conn), own_(!conn.in_transaction()) {
  if (own_) conn_.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

PgReadTransaction::~PgReadTransaction() {
  if (!own_) return;
  try {
    conn_.end_top("COMMIT");
  } catch (...) {
    // Nothing was written; the session ends it on reconnect.
  }
}

}  // namespace chatglmd::store
