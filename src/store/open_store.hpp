#pragma once
// The one factory that picks the backend from the address (store.url), as the rest of the
// program sees only the repository interfaces: empty = the embedded SQLite file at `path`,
// postgresql://... = PostgreSQL.
#include <string>

#include "store/open_result.hpp"

namespace chatglmd::store {

struct StoreTarget {
  std::string url;       // empty: SQLite at `path`
  std::string password;  // PostgreSQL only (store.password_file's text)
  std::string path;      // SQLite only
  std::string synchronous = "FULL";
  bool migrate = true;  // create or upgrade (migrate, serve) or require the latest schema
};

// True for the URLs that select PostgreSQL: postgresql://... or postgres://...
bool is_postgres_url(const std::string& url);
// Where the store is, for messages: the SQLite path, or the server without its password.
std::string describe_store(const StoreTarget& target);
OpenResult open_store(const StoreTarget& target);

}  // namespace chatglmd::store
