#include "store/open_store.hpp"

#include "store/sqlite_store.hpp"
#ifdef CHATGLMD_WITH_POSTGRES
#include "store/pg_conn.hpp"
#include "store/pg_store.hpp"
#endif

namespace chatglmd::store {

std::string describe_store(const StoreTarget& target) {
  if (target.url.empty()) return target.path;
#ifdef CHATGLMD_WITH_POSTGRES
  return "PostgreSQL at " + describe_conninfo(target.url);
#else
  return "PostgreSQL";
#endif
}

OpenResult open_store(const StoreTarget& target) {
  if (target.url.empty())
    return open_sqlite_store({target.path, target.synchronous, 5000, target.migrate});
  OpenResult result;
  if (!is_postgres_url(target.url)) {
    result.error = "store.url must be a postgresql:// URL (or empty for SQLite)";
    return result;
  }
#ifdef CHATGLMD_WITH_POSTGRES
  return open_pg_store({target.url, target.password, target.migrate});
#else
  result.error = "this chatglmd was built without PostgreSQL (cmake -DCHATGLMD_POSTGRES=ON)";
  return result;
#endif
}

}  // namespace chatglmd::store
