# Runs cmake/generate_schema.cmake on throw-away migration files: the build must stop on a gap
# or a repeated number (either would skip a migration on an existing database) and go on for
# 001..N. Called as: cmake -DSOURCE_DIR=... -DWORK_DIR=... -P schema_numbering_test.cmake
set(generator ${SOURCE_DIR}/cmake/generate_schema.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(expect_generation case_name want_ok)
  set(files "")
  foreach(name ${ARGN})
    file(WRITE ${WORK_DIR}/${case_name}/${name} "SELECT 1;\n")
    list(APPEND files ${WORK_DIR}/${case_name}/${name})
  endforeach()
  execute_process(
    COMMAND ${CMAKE_COMMAND} -DOUT=${WORK_DIR}/${case_name}.cpp "-DFILES=${files}" -P ${generator}
    RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(want_ok AND NOT rc EQUAL 0)
    message(FATAL_ERROR "${case_name}: 001..N was refused: ${err}")
  endif()
  if(NOT want_ok)
    if(rc EQUAL 0)
      message(FATAL_ERROR "${case_name}: numbering accepted, the build would go on")
    endif()
    if(NOT err MATCHES "numbered 001..N without gaps or repeats")
      message(FATAL_ERROR "${case_name}: failed without saying why: ${err}")
    endif()
  endif()
endfunction()

expect_generation(contiguous TRUE 001_init.sql 002_b.sql 003_c.sql 004_d.sql)
expect_generation(gap FALSE 001_init.sql 003_c.sql 004_d.sql)
expect_generation(repeat FALSE 001_init.sql 002_a.sql 002_b.sql 003_c.sql)
expect_generation(not_from_one FALSE 002_a.sql 003_b.sql)
