#pragma once
// What `chatglmd --version` and `chatglmd_build_info` report: the release version from
// CMakeLists.txt and the build (`git describe` of the tree it was built from).
#include <string>

namespace chatglmd::app {

const char* version();   // "0.1.0"
const char* build_id();  // "v0.1.0-115-gb1ca9e2", "b1ca9e2-dirty", or "unknown" outside git
// "chatglmd 0.1.0 (v0.1.0-115-gb1ca9e2)"
std::string version_line();

}  // namespace chatglmd::app
