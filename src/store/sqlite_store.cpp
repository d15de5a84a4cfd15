#include "store/sqlite_store.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "store/sqlite_db.hpp"
#include "store/sqlite_repos.hpp"

namespace chatglmd::store {
namespace {

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const DbOptions& options)
      : db_(options),
        products_(db_),
        accounts_(db_),
        orders_(db_),
        refunds_(db_),
        jobs_(db_),
        logins_(db_),
        words_(db_),
        whitelist_(db_),
        notifies_(db_),
        chat_log_(db_),
        reports_(db_) {}

  Db& db() { return db_; }
  ProductRepository& products() override { return products_; }
  AccountRepository& accounts() override { return accounts_; }
  OrderRepository& orders() override { return orders_; }
  RefundRepository& refunds() override { return refunds_; }
  JobRepository& jobs() override { return jobs_; }
  LoginRepository& logins() override { return logins_; }
  WordRepository& words() override { return words_; }
  WhitelistRepository& whitelist() override { return whitelist_; }
  NotifyRepository& notifies() override { return notifies_; }
  ChatLogRepository& chat_log() override { return chat_log_; }
  ReportRepository& reports() override { return reports_; }

  void in_transaction(const std::function<void()>& body) override {
    std::lock_guard lock(db_.mutex());
    WriteTransaction tx(db_);
    body();
    tx.commit();
  }

  // A write transaction this connection committed since the last probe proved what the probe's
  // own would, without one more commit (each restarts an online `sqlite3 .backup`).
  void write_probe(core::UtcMs now) override {
    std::lock_guard lock(db_.mutex());
    if (probed_ && db_.committed_writes() != writes_at_last_probe_) {
      writes_at_last_probe_ = db_.committed_writes();
      return;
    }
    WriteTransaction tx(db_);
    db_.prepare(
           "INSERT INTO store_probe (id, written_at) VALUES (1, ?1) "
           "ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at")
        .bind(1, now.ms)
        .exec();
    tx.commit();
    probed_ = true;
    writes_at_last_probe_ = db_.committed_writes();
  }

  bool healthy() override {
    try {
      std::lock_guard lock(db_.mutex());
      return schema_version(db_) == latest_schema_version();
    } catch (const StoreError&) {
      return false;
    }
  }

 private:
  Db db_;
  SqliteProducts products_;
  SqliteAccounts accounts_;
  SqliteOrders orders_;
  SqliteRefunds refunds_;
  SqliteJobs jobs_;
  SqliteLogins logins_;
  SqliteWords words_;
  SqliteWhitelist whitelist_;
  SqliteNotifies notifies_;
  SqliteChatLog chat_log_;
  SqliteReports reports_;
  bool probed_ = false;
  std::uint64_t writes_at_last_probe_ = 0;
};

}  // namespace

OpenResult open_sqlite_store(const SqliteStoreOptions& options) {
  OpenResult result;
  if (!options.migrate) {
    // Tell a missing file from one we may not open: only the first is cured by migrating.
    struct stat st {};
    if (::stat(options.path.c_str(), &st) != 0) {
      result.error =
          errno == ENOENT
              ? fmt::format("no database at {} (run chatglmd migrate)", options.path)
              : fmt::format("cannot open database {}: {}", options.path, std::strerror(errno));
      return result;
    }
  }
  try {
    DbOptions db{options.path, options.synchronous, options.busy_timeout_ms, false,
                 options.migrate};
    if (options.page_cache_kib > 0) db.page_cache_kib = options.page_cache_kib;
    auto store = std::make_unique<SqliteStore>(db);
    if (options.migrate) {
      result.migration = migrate(store->db());
      if (!result.migration.ok) {
        result.error = result.migration.error;
        return result;
      }
    } else {
      std::lock_guard lock(store->db().mutex());
      const int have = schema_version(store->db());
      const int latest = latest_schema_version();
      if (have > latest) {
        result.error = fmt::format(
            "database {} has schema version {}, newer than this chatglmd supports ({}); upgrade "
            "chatglmd or restore a matching backup",
            options.path, have, latest);
        return result;
      }
      if (have < latest) {
        result.error = fmt::format(
            "database {} has schema version {}, older than this chatglmd ({}): run chatglmd "
            "migrate",
            options.path, have, latest);
        return result;
      }
    }
    result.store = std::move(store);
  } catch (const StoreError& e) {
    result.error = e.what();
  }
  return result;
}

}  // namespace chatglmd::store
