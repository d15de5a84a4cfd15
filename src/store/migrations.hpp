#pragma once
#include <string>
#include <vector>

namespace chatglmd::store {

class Db;

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// schema/NNN_*.sql, embedded at build time, ordered by version.
const std::vector<Migration>& embedded_migrations();
// schema/postgresql/NNN_*.sql, the PostgreSQL twins, numbered the same way.
const std::vector<Migration>& embedded_pg_migrations();

struct MigrationReport {
  bool ok = false;
  int from_version = 0;
  int to_version = 0;
  std::vector<std::string> applied;
  std::string error;  // e.g. a database from a newer chatglmd
};

// Applies pending migrations in one IMMEDIATE transaction, tracked by PRAGMA user_version.
MigrationReport migrate(Db& db);
int latest_schema_version();
int latest_pg_schema_version();
int schema_version(Db& db);

}  // namespace chatglmd::store
