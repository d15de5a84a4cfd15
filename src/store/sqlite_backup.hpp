#pragma once
// An online, consistent copy of an SQLite store, safe while serve and jobs write to it.
#include <cstdint>
#include <string>

namespace chatglmd::store {

struct BackupResult {
  bool ok = false;
  bool target_existed = false;  // refused: the target is never overwritten
  std::string error;            // why it failed, naming the file
  std::int64_t bytes = 0;       // size of the finished copy
  std::int64_t pages = 0;
};

// Copies `source` into the new file `target` with SQLite's backup API, then runs
// PRAGMA integrity_check on the copy. The target is created exclusively (an existing file,
// or a symlink, is refused and left alone); on any failure the partial copy is removed.
BackupResult backup_sqlite(const std::string& source, const std::string& target);

}  // namespace chatglmd::store
