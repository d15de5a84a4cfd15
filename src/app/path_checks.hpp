#pragma once
// The folders and files check-config can vouch for before serve meets them as the service
// user: the store's folder (SQLite writes the -wal and -shm files beside the database), the
// database itself when it exists, and a set http.web_dir.
#include <iosfwd>
#include <string>
#include <vector>

#include "app/config.hpp"

namespace chatglmd::app {

// Prints where the store and the page come from to `out`; returns one line per problem, each
// with the OS reason ("Permission denied").
std::vector<std::string> check_paths(const Config& config, std::ostream& out);

}  // namespace chatglmd::app
