#pragma once
// Migrations on PostgreSQL: schema/postgresql/NNN_*.sql, applied in one transaction under an
// advisory lock, tracked in the one-row table chatglmd_schema (the twin of PRAGMA user_version).
#include "store/migrations.hpp"

namespace chatglmd::store {

class PgConn;

MigrationReport pg_migrate(PgConn& conn);
// 0 for a database chatglmd never migrated.
int pg_schema_version(PgConn& conn);

}  // namespace chatglmd::store
