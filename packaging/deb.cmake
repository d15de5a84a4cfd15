# `make deb`: install rules and CPack's DEB generator. CPack packs the build the tests ran
# against (no second compile with other flags), dpkg-shlibdeps computes Depends from the
# binary, and the maintainer scripts, conffiles, changelog and copyright live in packaging/.
set(PKG ${CMAKE_SOURCE_DIR}/packaging)
set(DOC_OUT ${CMAKE_BINARY_DIR}/doc)

# /etc/cron.d/chatglmd: cron/chatglmd with every line commented out.
add_custom_command(
  OUTPUT ${DOC_OUT}/cron.d-chatglmd
  COMMAND ${CMAKE_COMMAND} -DIN=${CMAKE_SOURCE_DIR}/cron/chatglmd -DOUT=${DOC_OUT}/cron.d-chatglmd
          -P ${PKG}/comment_out.cmake
  DEPENDS ${CMAKE_SOURCE_DIR}/cron/chatglmd ${PKG}/comment_out.cmake
  COMMENT "Commenting out cron/chatglmd for /etc/cron.d")
# Debian wants man pages and changelogs compressed with gzip -9n (no name, no time stamp).
add_custom_command(
  OUTPUT ${DOC_OUT}/chatglmd.8.gz ${DOC_OUT}/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E copy ${PKG}/changelog ${DOC_OUT}/changelog
  COMMAND gzip -9nkf ${DOC_OUT}/chatglmd.8 ${DOC_OUT}/changelog
  DEPENDS ${CHATGLMD_MAN_PAGE} chatglmd_docs ${PKG}/changelog
  COMMENT "Compressing the man page and the changelog")
add_custom_target(chatglmd_package_files ALL
  DEPENDS ${DOC_OUT}/cron.d-chatglmd ${DOC_OUT}/chatglmd.8.gz ${DOC_OUT}/changelog.gz chatglmd_docs)

install(TARGETS chatglmd RUNTIME DESTINATION bin)
install(FILES ${DOC_OUT}/chatglmd.8.gz DESTINATION share/man/man8)
install(FILES README.md ${PKG}/copyright ${DOC_OUT}/changelog.gz DESTINATION share/doc/chatglmd)
install(FILES contrib/grafana/chatglmd.json DESTINATION share/doc/chatglmd/examples/grafana)
install(FILES contrib/prometheus/chatglmd.rules.yml contrib/prometheus/chatglmd.rules.test.yml
        DESTINATION share/doc/chatglmd/examples/prometheus)
# Debian 12 keeps package units in /lib/systemd/system (the /usr move came after bookworm).
# The backup units are an example from contrib/, shipped disabled like the job timers.
file(GLOB CHATGLMD_UNITS ${CMAKE_SOURCE_DIR}/systemd/*.service ${CMAKE_SOURCE_DIR}/systemd/*.timer
     ${CMAKE_SOURCE_DIR}/contrib/systemd/*.service ${CMAKE_SOURCE_DIR}/contrib/systemd/*.timer)
install(FILES ${CHATGLMD_UNITS} DESTINATION /lib/systemd/system)
install(FILES ${PKG}/chatglmd.service.d/wait-for-secrets.conf
        DESTINATION /lib/systemd/system/chatglmd.service.d)
install(FILES ${CHATGLMD_SAMPLE_INI} DESTINATION /etc/chatglmd)
install(FILES ${DOC_OUT}/cron.d-chatglmd DESTINATION /etc/cron.d RENAME chatglmd)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME chatglmd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "chatglmd maintainers <chatglmd@example.org>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Not libraries, so not found by the scan: what the maintainer scripts call.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "sqlite3, cron")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The maintainer scripts name every timer shipped, so a new job's timer is stopped and purged too.
set(CHATGLMD_TIMERS "")
foreach(unit ${CHATGLMD_UNITS})
  if(unit MATCHES "\\.timer$")
    get_filename_component(name ${unit} NAME)
    string(APPEND CHATGLMD_TIMERS " ${name}")
  endif()
endforeach()
string(STRIP "${CHATGLMD_TIMERS}" CHATGLMD_TIMERS)
foreach(script postinst prerm postrm)
  configure_file(${PKG}/${script}.in ${CMAKE_BINARY_DIR}/packaging/${script} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                  WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PKG}/conffiles ${CMAKE_BINARY_DIR}/packaging/postinst ${CMAKE_BINARY_DIR}/packaging/prerm
    ${CMAKE_BINARY_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "paid ChatGLM chat service with Alipay checkout
chatglmd sells chat quota through Alipay and spends it on ChatGLM answers
streamed to the browser. One daemon holds the HTTP front, an SQLite order
store with a strict state machine, the jobs that close unpaid orders and
repair lost deliveries and notifications, and the admin commands.")
set(CPACK_PACKAGE_FILE_NAME chatglmd_${PROJECT_VERSION}_amd64)
include(CPack)
