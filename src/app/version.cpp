#include "app/version.hpp"

namespace chatglmd::app {

const char* version() {
  return CHATGLMD_VERSION;
}

std::string version_line() {
  return std::string("chatglmd ") + version() + " (" + build_id() + ")";
}

}  // namespace chatglmd::app
