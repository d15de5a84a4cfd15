#pragma once
#include <memory>
#include <string>

#include "store/migrations.hpp"
#include "store/open_result.hpp"
#include "store/store.hpp"

namespace chatglmd::store {

struct SqliteStoreOptions {
  std::string path;
  std::string synchronous = "FULL";
  int busy_timeout_ms = 5000;
  // True: create the file if missing and apply pending migrations (migrate, serve). False: the
  // database must exist at the latest schema (every other command).
  bool migrate = true;
  // The most database pages the connection keeps in memory, in KiB; 0: DbOptions' default.
  int page_cache_kib = 0;
};

// Opens an SQLite store (see `migrate`). Refuses a database from a newer schema.
OpenResult open_sqlite_store(const SqliteStoreOptions& options);

}  // namespace chatglmd::store
