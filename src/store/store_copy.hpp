#pragma once
// `chatglmd store copy`: moves a deployment from its SQLite file to an empty PostgreSQL database,
// every table with its ids, in one PostgreSQL transaction that commits only when the row counts
// and the money and quota sums agree on both sides.
#include <cstdint>
#include <string>
#include <vector>

#include "store/pg_store.hpp"

namespace chatglmd::store {

struct CopiedTable {
  std::string name;
  std::int64_t rows = 0;
};

struct CopyReport {
  bool ok = false;
  std::string error;  // nothing was written to the target when set
  std::vector<CopiedTable> tables;
  std::int64_t total_quota = 0;    // sum over user_account, equal on both sides
  std::int64_t surplus_quota = 0;  // sum over user_account, equal on both sides
  std::int64_t paid_fen = 0;       // sum of the amounts of paid orders, equal on both sides
  double seconds = 0;
};

// `from`: an SQLite file at the current schema (read in one snapshot, never written). `to`: a
// PostgreSQL database that is migrated here if needed and must hold no data.
CopyReport copy_sqlite_to_pg(const std::string& from, const PgStoreOptions& to);

}  // namespace chatglmd::store
