# Embeds the chat and buy page (web/, without its tests and deps/) into the binary, so `GET /` answers
# whatever folder the daemon runs from. Regenerated when a file in web/ changes; a file added
# or removed re-runs the glob (CONFIGURE_DEPENDS).
file(GLOB_RECURSE CHATGLMD_WEB_FILES CONFIGURE_DEPENDS LIST_DIRECTORIES false
     RELATIVE ${CMAKE_SOURCE_DIR}/web ${CMAKE_SOURCE_DIR}/web/*)
list(FILTER CHATGLMD_WEB_FILES EXCLUDE REGEX "^test/|^deps/|(^|/)\\.|(^|/)node_modules/")
list(SORT CHATGLMD_WEB_FILES)
set(CHATGLMD_WEB_PATHS "")
foreach(f ${CHATGLMD_WEB_FILES})
  list(APPEND CHATGLMD_WEB_PATHS ${CMAKE_SOURCE_DIR}/web/${f})
endforeach()
# A ';' would end the shell command: hand the names over '|'-separated.
string(REPLACE ";" "|" CHATGLMD_WEB_NAMES "${CHATGLMD_WEB_FILES}")
set(CHATGLMD_WEB_CPP ${CMAKE_BINARY_DIR}/generated/embedded_web.cpp)
add_custom_command(
  OUTPUT ${CHATGLMD_WEB_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${CHATGLMD_WEB_CPP} -DROOT=${CMAKE_SOURCE_DIR}/web
          "-DFILES=${CHATGLMD_WEB_NAMES}" -P ${CMAKE_SOURCE_DIR}/cmake/generate_web.cmake
  DEPENDS ${CHATGLMD_WEB_PATHS} ${CMAKE_SOURCE_DIR}/cmake/generate_web.cmake
  COMMENT "Embedding the web page"
  VERBATIM)
