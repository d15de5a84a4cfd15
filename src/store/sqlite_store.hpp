#pragma once
#include <memory>
#include <string>

#include "store/migrations.hpp"
#include "store/store.hpp"

namespace chatglmd::store {

struct SqliteStoreOptions {
  std::string path;
  std::string synchronous = "FULL";
  int busy_timeout_ms = 5000;
  bool migrate = true;  // apply pending migrations on open (serve, admin commands)
};

struct OpenResult {
  std::unique_ptr<Store> store;  // null on error
  MigrationReport migration;
  std::string error;
};

// Opens (creating if missing) an SQLite store. Refuses a database from a newer schema.
OpenResult open_sqlite_store(const SqliteStoreOptions& options);

}  // namespace chatglmd::store
