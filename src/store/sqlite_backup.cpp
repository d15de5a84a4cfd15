#include "store/sqlite_backup.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/sqlite_db.hpp"

namespace chatglmd::store {
namespace {

std::string integrity_of(Db& copy) {
  auto q = copy.prepare("PRAGMA integrity_check");
  std::string verdict;
  while (q.step()) verdict += (verdict.empty() ? "" : "; ") + q.text(0);
  return verdict;
}

// Copies every page in one step: one read transaction gives a consistent snapshot. In WAL mode
// a reader blocks no writer, so serve keeps committing meanwhile; stepping in small chunks
// instead would restart the copy whenever another process commits, and might never finish
// under a steady stream of notifies.
void copy_pages(Db& from, Db& to, std::int64_t& pages) {
  sqlite3_backup* b = sqlite3_backup_init(to.raw(), "main", from.raw(), "main");
  if (b == nullptr) throw_sqlite(to.raw(), sqlite3_errcode(to.raw()), "backup init");
  int rc = SQLITE_OK;
  // BUSY/LOCKED can come while another connection holds an exclusive lock for a moment
  // (a checkpoint that truncates the WAL); busy_timeout already waited, so retry a few times.
  for (int attempt = 0; attempt < 20; ++attempt) {
    rc = sqlite3_backup_step(b, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
  }
  pages = sqlite3_backup_pagecount(b);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) throw_sqlite(to.raw(), rc, "backup step");
}

}  // namespace

BackupResult backup_sqlite(const std::string& source, const std::string& target) {
  BackupResult result;
  // O_EXCL|O_NOFOLLOW: refuse an existing file or link atomically, even one made a moment ago.
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) {
    int e = errno;
    result.target_existed = e == EEXIST;
    result.error = result.target_existed
                       ? fmt::format("{} exists; a backup never overwrites a file", target)
                       : fmt::format("cannot create {}: {}", target, std::strerror(e));
    return result;
  }
  ::close(fd);
  try {
    {
      Db from({source, "FULL", 5000, true});
      Db to({target, "FULL", 5000, false});
      copy_pages(from, to, result.pages);
      std::string verdict = integrity_of(to);
      if (verdict != "ok")
        throw StoreError(fmt::format("integrity_check of the copy: {}", verdict), SQLITE_CORRUPT);
    }  // closing the copy checkpoints its WAL into the file and removes -wal and -shm
    std::error_code ec;
    result.bytes = static_cast<std::int64_t>(std::filesystem::file_size(target, ec));
    result.ok = true;
  } catch (const StoreError& e) {
    result.error = fmt::format("backup of {} to {} failed: {}", source, target, e.what());
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
      std::filesystem::remove(target + suffix, ignored);
  }
  return result;
}

}  // namespace chatglmd::store
