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
