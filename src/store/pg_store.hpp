#pragma once
#include <string>

#include "store/open_result.hpp"

namespace chatglmd::store {

struct PgStoreOptions {
  std::string url;       // libpq URI: postgresql://user@host:port/db
  std::string password;  // empty: libpq's own (PGPASSFILE, ~/.pgpass)
  // True: apply pending migrations (migrate, serve). False: the database must be at the latest
  // schema (every other command).
  bool migrate = true;
  int connect_timeout_s = 5;
};

// Opens a PostgreSQL store. Errors name the server without the password.
OpenResult open_pg_store(const PgStoreOptions& options);

}  // namespace chatglmd::store
