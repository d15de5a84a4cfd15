#pragma once
// What each configuration key means, for the man page and the sample chatglmd.ini. The keys
// themselves and their defaults come from describe_keys() (app/config.cpp); a test checks that
// every key it lists has a meaning here, so a new key cannot reach a release undocumented.
#include <string_view>

namespace chatglmd::app {

// The meaning of "section.key" (for "jobs.<name>.<key>", the meaning shared by every job);
// empty when the key is not documented.
std::string_view key_meaning(std::string_view key);

}  // namespace chatglmd::app
