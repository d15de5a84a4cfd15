#include "store/pg_store.hpp"

#include <fmt/format.h>

#include "store/pg_conn.hpp"
#include "store/pg_migrations.hpp"
#include "store/pg_repos.hpp"

namespace chatglmd::store {
namespace {

// One connection per Store object, shared by its threads under the connection's mutex: the
// contract SqliteStore gives (in_transaction and the group commit hold it across many calls).
class PgStore final : public Store {
 public:
  explicit PgStore(PgOptions options)
      : conn_(std::move(options)),
        products_(conn_),
        accounts_(conn_),
        orders_(conn_),
        refunds_(conn_),
        jobs_(conn_),
        logins_(conn_),
        words_(conn_),
        whitelist_(conn_),
        notifies_(conn_),
        counters_(conn_),
        chat_log_(conn_),
        reports_(conn_) {}

  PgConn& conn() { return conn_; }
  ProductRepository& products() override { return products_; }
  AccountRepository& accounts() override { return accounts_; }
  OrderRepository& orders() override { return orders_; }
  RefundRepository& refunds() override { return refunds_; }
  JobRepository& jobs() override { return jobs_; }
  LoginRepository& logins() override { return logins_; }
  WordRepository& words() override { return words_; }
  WhitelistRepository& whitelist() override { return whitelist_; }
  NotifyRepository& notifies() override { return notifies_; }
  SharedCounterRepository* shared_counters() override { return &counters_; }
  ChatLogRepository& chat_log() override { return chat_log_; }
  ReportRepository& reports() override { return reports_; }

  void in_transaction(const std::function<void()>& body) override {
    std::lock_guard lock(conn_.mutex());
    PgWriteTransaction tx(conn_);
    body();
    tx.commit();
  }

  // As SqliteStore: a write this connection committed since the last probe proves as much.
  void write_probe(core::UtcMs now) override {
    std::lock_guard lock(conn_.mutex());
    if (probed_ && conn_.committed_writes() != writes_at_last_probe_) {
      writes_at_last_probe_ = conn_.committed_writes();
      return;
    }
    PgWriteTransaction tx(conn_);
    conn_
        .prepare(
            "INSERT INTO store_probe (id, written_at) VALUES (1, $1) "
            "ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at")
        .bind(1, now.ms)
        .exec();
    tx.commit();
    probed_ = true;
    writes_at_last_probe_ = conn_.committed_writes();
  }

  bool healthy() override {
    try {
      std::lock_guard lock(conn_.mutex());
      return pg_schema_version(conn_) == latest_pg_schema_version();
    } catch (const StoreError&) {
      return false;
    }
  }

 private:
  PgConn conn_;
  PgProducts products_;
  PgAccounts accounts_;
  PgOrders orders_;
  PgRefunds refunds_;
  PgJobs jobs_;
  PgLogins logins_;
  PgWords words_;
  PgWhitelist whitelist_;
  PgNotifies notifies_;
  PgSharedCounters counters_;
  PgChatLog chat_log_;
  PgReports reports_;
  bool probed_ = false;
  std::uint64_t writes_at_last_probe_ = 0;
};

}  // namespace

OpenResult open_pg_store(const PgStoreOptions& options) {
  OpenResult result;
  try {
    auto store = std::make_unique<PgStore>(
        PgOptions{options.url, options.password, options.connect_timeout_s, "chatglmd"});
    const std::string& target = store->conn().target();
    if (options.migrate) {
      result.migration = pg_migrate(store->conn());
      if (!result.migration.ok) {
        result.error = fmt::format("PostgreSQL at {}: {}", target, result.migration.error);
        return result;
      }
    } else {
      std::lock_guard lock(store->conn().mutex());
      const int have = pg_schema_version(store->conn());
      const int latest = latest_pg_schema_version();
      if (have > latest) {
        result.error = fmt::format(
            "PostgreSQL at {} has schema version {}, newer than this chatglmd supports ({}); "
            "upgrade chatglmd or restore a matching backup",
            target, have, latest);
        return result;
      }
      if (have < latest) {
        result.error = fmt::format(
            "PostgreSQL at {} has schema version {}, older than this chatglmd ({}): run "
            "chatglmd migrate",
            target, have, latest);
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
