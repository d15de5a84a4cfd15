#include "store/migrations.hpp"

#include <fmt/format.h>

#include "store/sqlite_db.hpp"

namespace chatglmd::store {

int latest_schema_version() {
  const auto& all = embedded_migrations();
  return all.empty() ? 0 : all.back().version;
}

int schema_version(Db& db) {
  auto st = db.prepare("PRAGMA user_version");
  st.step();
  return static_cast<int>(st.int64(0));
}

MigrationReport migrate(Db& db) {
  std::lock_guard lock(db.mutex());
  MigrationReport report;
  WriteTransaction tx(db);
  // Read the version inside the write lock so two processes migrating at once apply each step once.
  report.from_version = schema_version(db);
  report.to_version = report.from_version;
  const int latest = latest_schema_version();
  if (report.from_version > latest) {
    report.error = fmt::format(
        "database schema version {} is newer than this chatglmd supports ({}); upgrade chatglmd "
        "or restore a matching backup",
        report.from_version, latest);
    return report;
  }
  for (const auto& m : embedded_migrations()) {
    if (m.version <= report.from_version) continue;
    db.exec_script(m.sql);
    db.exec_script(fmt::format("PRAGMA user_version = {}", m.version));
    report.applied.push_back(m.name);
    report.to_version = m.version;
  }
  tx.commit();
  report.ok = true;
  return report;
}

}  // namespace chatglmd::store
