#pragma once
#include <string>

namespace chatglmd::app {

// spdlog to stderr. Under systemd (JOURNAL_STREAM set) journald adds the time, so we do not;
// the level name stays as a prefix.
void setup_logging(const std::string& level);

}  // namespace chatglmd::app
