#include "store/store_copy.hpp"

#include <fmt/format.h>

#include <chrono>

#include "store/pg_conn.hpp"
#include "store/pg_migrations.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_store.hpp"

namespace chatglmd::store {
namespace {

// Rows that only mean something to the process that wrote them: not copied.
bool transient(const std::string& table) {
  return table == "job_lease" || table == "store_probe" || table == "shared_counter" ||
         table == "chatglmd_schema";
}

// Parents before the tables whose foreign keys point at them; the rest by name.
int copy_rank(const std::string& table) {
  if (table == "openai_product") return 0;
  if (table == "user_account") return 1;
  if (table == "openai_order") return 2;
  return 3;
}

std::vector<std::string> sqlite_tables(Db& db) {
  std::vector<std::string> out;
  auto st = db.prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
      "ORDER BY name");
  while (st.step()) {
    if (!transient(st.text(0))) out.push_back(st.text(0));
  }
  std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return copy_rank(a) < copy_rank(b);
  });
  return out;
}

std::vector<std::string> sqlite_columns(Db& db, const std::string& table) {
  std::vector<std::string> out;
  auto st = db.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid");
  st.bind(1, table);
  while (st.step()) out.push_back(st.text(0));
  return out;
}

// The checks both sides must agree on, in SQL both dialects read the same.
struct Totals {
  std::int64_t total_quota = 0;
  std::int64_t surplus_quota = 0;
  std::int64_t paid_fen = 0;
  bool operator==(const Totals&) const = default;
};
constexpr const char* kQuotaSums =
    "SELECT coalesce(sum(total_quota), 0), coalesce(sum(surplus_quota), 0) FROM user_account";
constexpr const char* kPaidSum =
    "SELECT coalesce(sum(total_amount_fen), 0) FROM openai_order WHERE pay_status IN (1, 4)";

template <typename Conn>
Totals totals_of(Conn& conn) {
  Totals t;
  auto q = conn.prepare(kQuotaSums);
  if (q.step()) {
    t.total_quota = q.int64(0);
    t.surplus_quota = q.int64(1);
  }
  auto p = conn.prepare(kPaidSum);
  if (p.step()) t.paid_fen = p.int64(0);
  return t;
}

}  // namespace

CopyReport copy_sqlite_to_pg(const std::string& from, const PgStoreOptions& to) {
  CopyReport report;
  const auto started = std::chrono::steady_clock::now();
  try {
    // Both at the current schema: the SQLite file as every admin command requires, the target
    // migrated (an empty database gets the schema here).
    auto source_check = open_sqlite_store({from, "FULL", 5000, false});
    if (!source_check.store) {
      report.error = source_check.error;
      return report;
    }
    source_check.store.reset();
    auto target_check = open_pg_store({to.url, to.password, true, to.connect_timeout_s});
    if (!target_check.store) {
      report.error = target_check.error;
      return report;
    }
    target_check.store.reset();

    Db source(DbOptions{from, "FULL", 5000, true, false});
    PgConn target(PgOptions{to.url, to.password, to.connect_timeout_s, "chatglmd store copy"});
    std::lock_guard lock(target.mutex());
    ReadTransaction snapshot(source);  // one consistent read, whatever a running serve writes
    PgWriteTransaction tx(target);
    const auto tables = sqlite_tables(source);
    for (const auto& table : tables) {
      if (table == "change_stamp") continue;  // the migration wrote its rows; replaced below
      auto any = target.prepare(fmt::format("SELECT 1 FROM {} LIMIT 1", table));
      if (any.step()) {
        report.error = fmt::format(
            "the target already holds data (table {} is not empty): store copy fills only an "
            "empty database",
            table);
        return report;
      }
    }
    target.exec_script("DELETE FROM change_stamp");
    for (const auto& table : tables) {
      const auto columns = sqlite_columns(source, table);
      std::string names, params;
      for (std::size_t i = 0; i < columns.size(); ++i) {
        names += (i ? ", " : "") + columns[i];
        params += fmt::format("{}${}", i ? ", " : "", i + 1);
      }
      auto read = source.prepare(fmt::format("SELECT {} FROM {} ORDER BY rowid", names, table));
      const std::string insert =
          fmt::format("INSERT INTO {} ({}) VALUES ({})", table, names, params);
      CopiedTable copied{table, 0};
      while (read.step()) {
        auto write = target.prepare(insert);
        for (std::size_t i = 0; i < columns.size(); ++i) {
          const int col = static_cast<int>(i);
          if (read.is_null(col)) {
            write.bind_null(col + 1);
          } else {
            write.bind(col + 1, read.text(col));
          }
        }
        write.exec();
        ++copied.rows;
      }
      // Row counts, side by side.
      auto count = target.prepare(fmt::format("SELECT count(*) FROM {}", table));
      count.step();
      if (count.int64(0) != copied.rows) {
        report.error = fmt::format("table {}: {} rows read but {} in the target", table,
                                   copied.rows, count.int64(0));
        return report;
      }
      // Identity columns go on after the copied ids.
      if (std::find(columns.begin(), columns.end(), "id") != columns.end()) {
        target.exec_script(fmt::format(
            "SELECT setval(pg_get_serial_sequence('{0}', 'id'), coalesce(max(id), 0) + 1, false) "
            "FROM {0} WHERE pg_get_serial_sequence('{0}', 'id') IS NOT NULL",
            table));
      }
      report.tables.push_back(copied);
    }
    const Totals source_totals = totals_of(source);
    const Totals target_totals = totals_of(target);
    if (!(source_totals == target_totals)) {
      report.error = fmt::format(
          "the sums differ (quota total {} / {}, surplus {} / {}, paid fen {} / {}): nothing "
          "was kept",
          source_totals.total_quota, target_totals.total_quota, source_totals.surplus_quota,
          target_totals.surplus_quota, source_totals.paid_fen, target_totals.paid_fen);
      return report;
    }
    tx.commit();
    report.total_quota = source_totals.total_quota;
    report.surplus_quota = source_totals.surplus_quota;
    report.paid_fen = source_totals.paid_fen;
    report.ok = true;
  } catch (const StoreError& e) {
    report.error = e.what();
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace chatglmd::store
