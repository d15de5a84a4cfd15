# Called by embed_schema.cmake at build time: writes one C++ file holding every migration.
# FUNCTION names the accessor: embedded_migrations (SQLite, schema/) or embedded_pg_migrations
# (PostgreSQL, schema/postgresql/).
if(NOT FUNCTION)
  set(FUNCTION embedded_migrations)
endif()
set(body "// Generated from schema/*.sql; do not edit.\n#include \"store/migrations.hpp\"\n\nnamespace chatglmd::store {\n\nconst std::vector<Migration>& ${FUNCTION}() {\n  static const std::vector<Migration> all = {\n")
# A database records only the highest version applied, so a gap or a duplicate number (two
# branches each adding "their" 002) would skip a migration on every database already past it.
set(expected 1)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  string(SUBSTRING ${name} 0 3 num)
  math(EXPR version "${num}")
  if(NOT version EQUAL expected)
    message(FATAL_ERROR
      "schema migrations must be numbered 001..N without gaps or repeats: found ${name} where "
      "number ${expected} was expected (renumber the newest migration that is not in a release)")
  endif()
  math(EXPR expected "${expected} + 1")
  file(READ ${f} sql)
  string(APPEND body "    {${version}, \"${name}\", R\"chatglmd_sql(${sql})chatglmd_sql\"},\n")
endforeach()
string(APPEND body "  };\n  return all;\n}\n\n}  // namespace chatglmd::store\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
