# The Alipay half of chatglmd-sim; tests/sim/CMakeLists.txt include()s this file.
include_guard(GLOBAL)
add_library(chatglmd_sim_alipay STATIC
  ${CMAKE_CURRENT_LIST_DIR}/alipay_gateway_sim.cpp
  ${CMAKE_CURRENT_LIST_DIR}/alipay_sim_trades.cpp
  ${CMAKE_CURRENT_LIST_DIR}/alipay_notifier.cpp)
target_include_directories(chatglmd_sim_alipay PUBLIC ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(chatglmd_sim_alipay PUBLIC chatglmd_pay_protocol chatglmd_net fmt::fmt)
