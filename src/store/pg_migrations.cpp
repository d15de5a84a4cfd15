#include "store/pg_migrations.hpp"

#include <fmt/format.h>

#include "store/pg_conn.hpp"

namespace chatglmd::store {
namespace {

// Any constant will do, as long as every chatglmd uses the same one: the lock makes two nodes
// started at once apply each migration once.
constexpr std::int64_t kMigrationLock = 0x63686174676c6d;  // "chatglm"

}  // namespace

int latest_pg_schema_version() {
  const auto& all = embedded_pg_migrations();
  return all.empty() ? 0 : all.back().version;
}

int pg_schema_version(PgConn& conn) {
  auto exists = conn.prepare("SELECT to_regclass('chatglmd_schema') IS NOT NULL");
  if (!exists.step() || exists.text(0) != "t") return 0;
  auto st = conn.prepare("SELECT version FROM chatglmd_schema WHERE id = 1");
  return st.step() ? static_cast<int>(st.int64(0)) : 0;
}

MigrationReport pg_migrate(PgConn& conn) {
  std::lock_guard lock(conn.mutex());
  MigrationReport report;
  PgWriteTransaction tx(conn);
  conn.prepare("SELECT pg_advisory_xact_lock($1)").bind(1, kMigrationLock).exec();
  conn.exec_script(
      "CREATE TABLE IF NOT EXISTS chatglmd_schema ("
      "id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL);"
      "INSERT INTO chatglmd_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING");
  report.from_version = pg_schema_version(conn);
  report.to_version = report.from_version;
  const int latest = latest_pg_schema_version();
  if (report.from_version > latest) {
    report.error = fmt::format(
        "database schema version {} is newer than this chatglmd supports ({}); upgrade chatglmd "
        "or restore a matching backup",
        report.from_version, latest);
    return report;
  }
  for (const auto& m : embedded_pg_migrations()) {
    if (m.version <= report.from_version) continue;
    conn.exec_script(m.sql);
    conn.prepare("UPDATE chatglmd_schema SET version = $1 WHERE id = 1").bind(1, m.version).exec();
    report.applied.push_back(m.name);
    report.to_version = m.version;
  }
  tx.commit();
  report.ok = true;
  return report;
}

}  // namespace chatglmd::store
