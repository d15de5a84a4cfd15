#pragma once
// Says, in an operator's words, why this process cannot write the store's files: the file, its
// owner and mode, and the user the process runs as. A store that cannot be written is almost
// always a permission mistake (migrate run as root, a root-owned -wal), and SQLite alone only
// says "attempt to write a readonly database".
#include <string>

namespace chatglmd::app {

// "" when the database, its -wal and -shm files (those that exist) and its folder are writable
// by this process; else the first problem, e.g. "store /var/lib/chatglmd/chatglmd.db is not
// writable by user chatglmd (uid 998): owned by root:root mode 0644".
std::string store_access_problem(const std::string& db_path);

// `error` followed by the access problem, when there is one.
std::string with_store_access(const std::string& error, const std::string& db_path);

}  // namespace chatglmd::app
