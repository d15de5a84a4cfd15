# Embeds schema/NNN_*.sql into the binary as an ordered list of migrations.
file(GLOB CHATGLMD_SCHEMA_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/schema/[0-9][0-9][0-9]_*.sql)
list(SORT CHATGLMD_SCHEMA_FILES)
set(CHATGLMD_SCHEMA_CPP ${CMAKE_BINARY_DIR}/generated/schema_migrations.cpp)
add_custom_command(
  OUTPUT ${CHATGLMD_SCHEMA_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${CHATGLMD_SCHEMA_CPP} "-DFILES=${CHATGLMD_SCHEMA_FILES}"
          -P ${CMAKE_SOURCE_DIR}/cmake/generate_schema.cmake
  DEPENDS ${CHATGLMD_SCHEMA_FILES} ${CMAKE_SOURCE_DIR}/cmake/generate_schema.cmake
  COMMENT "Embedding schema migrations"
  # Quotes -DFILES for the shell: with two or more files the list's `;` would end the command.
  VERBATIM)

# The PostgreSQL twins, numbered the same way (schema/postgresql/NNN_*.sql).
file(GLOB CHATGLMD_PG_SCHEMA_FILES CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/schema/postgresql/[0-9][0-9][0-9]_*.sql)
list(SORT CHATGLMD_PG_SCHEMA_FILES)
set(CHATGLMD_PG_SCHEMA_CPP ${CMAKE_BINARY_DIR}/generated/pg_schema_migrations.cpp)
add_custom_command(
  OUTPUT ${CHATGLMD_PG_SCHEMA_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${CHATGLMD_PG_SCHEMA_CPP} "-DFILES=${CHATGLMD_PG_SCHEMA_FILES}"
          -DFUNCTION=embedded_pg_migrations -P ${CMAKE_SOURCE_DIR}/cmake/generate_schema.cmake
  DEPENDS ${CHATGLMD_PG_SCHEMA_FILES} ${CMAKE_SOURCE_DIR}/cmake/generate_schema.cmake
  COMMENT "Embedding PostgreSQL schema migrations"
  VERBATIM)
