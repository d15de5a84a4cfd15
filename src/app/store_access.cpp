#include "app/store_access.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace chatglmd::app {
namespace {

std::string user_name(uid_t uid) {
  if (const passwd* p = ::getpwuid(uid)) return p->pw_name;
  return std::to_string(uid);
}

std::string group_name(gid_t gid) {
  if (const group* g = ::getgrgid(gid)) return g->gr_name;
  return std::to_string(gid);
}

std::string process_user() {
  const uid_t uid = ::geteuid();
  return fmt::format("user {} (uid {})", user_name(uid), uid);
}

// Checks with the effective ids, as the kernel will when SQLite opens the file.
std::string problem_with(const std::string& what, const std::string& path, int mode) {
  if (::faccessat(AT_FDCWD, path.c_str(), mode, AT_EACCESS) == 0) return {};
  const int err = errno;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fmt::format("{} {} cannot be reached by {}: {}", what, path, process_user(),
                       std::strerror(errno));
  if (err == EROFS) return fmt::format("{} {} is on a read-only file system", what, path);
  return fmt::format("{} {} is not writable by {}: owned by {}:{} mode {:04o}", what, path,
                     process_user(), user_name(st.st_uid), group_name(st.st_gid),
                     st.st_mode & 07777);
}

}  // namespace

std::string store_access_problem(const std::string& db_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string path = db_path + suffix;
    if (!fs::exists(path, ec)) continue;
    auto why = problem_with(*suffix ? "store file" : "store", path, W_OK);
    if (!why.empty()) return why;
  }
  // SQLite creates the -wal, -shm and journal files next to the database.
  fs::path folder = fs::path(db_path).parent_path();
  if (folder.empty()) folder = ".";
  return problem_with("store folder", folder.string(), W_OK | X_OK);
}

std::string with_store_access(const std::string& error, const std::string& db_path) {
  auto why = store_access_problem(db_path);
  return why.empty() ? error : error + "; " + why;
}

}  // namespace chatglmd::app
