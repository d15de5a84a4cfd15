#include "app/path_checks.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>

#include "store/open_store.hpp"

namespace chatglmd::app {
namespace {

// access() answers for the real user: the one check-config runs as (README: the service user).
std::optional<std::string> not_usable(const std::string& path, int mode) {
  if (::access(path.c_str(), mode) == 0) return std::nullopt;
  return std::string(std::strerror(errno));
}

}  // namespace

// PostgreSQL has no file here: say where it is and check the password file; whether the server
// answers is `chatglmd migrate`'s to say.
static void check_postgres_store(const Config& config, std::ostream& out,
                                 std::vector<std::string>& problems) {
  out << "store: " << store::describe_store({config.store.url, "", config.store.path}) << "\n";
  if (config.store.password_file.empty()) return;
  std::string error;
  if (!read_secret_file(config.store.password_file, error)) problems.push_back(error);
}

static void check_sqlite_store(const Config& config, std::ostream& out,
                               std::vector<std::string>& problems) {
  const std::string& db = config.store.path;
  const std::filesystem::path parent = std::filesystem::path(db).parent_path();
  const std::string folder = parent.empty() ? std::string(".") : parent.string();
  struct stat st {};
  bool exists = ::stat(db.c_str(), &st) == 0;
  out << "store: " << db << (exists ? "" : " (no database yet: run chatglmd migrate)") << "\n";
  if (::stat(folder.c_str(), &st) != 0) {
    problems.push_back(fmt::format("store folder {}: {}", folder, std::strerror(errno)));
  } else if (!S_ISDIR(st.st_mode)) {
    problems.push_back(fmt::format("store folder {}: {}", folder, std::strerror(ENOTDIR)));
  } else if (auto why = not_usable(folder, W_OK | X_OK)) {
    problems.push_back(fmt::format("store folder {} is not writable: {}", folder, *why));
  }
  if (exists) {
    for (const std::string& file : {db, fmt::format("{}-wal", db), fmt::format("{}-shm", db)}) {
      if (file != db && ::stat(file.c_str(), &st) != 0) continue;
      if (auto why = not_usable(file, R_OK | W_OK))
        problems.push_back(fmt::format("store file {} is not writable: {}", file, *why));
    }
  }
}

std::vector<std::string> check_paths(const Config& config, std::ostream& out) {
  std::vector<std::string> problems;
  if (config.store.url.empty()) {
    check_sqlite_store(config, out, problems);
  } else {
    check_postgres_store(config, out, problems);
  }
  if (auto bad = web_dir_problem(config)) problems.push_back(*bad);
  if (config.http.web_dir.empty())
    out << "page: embedded in the binary\n";
  else
    out << fmt::format("page: http.web_dir {}\n", config.http.web_dir);
  return problems;
}

}  // namespace chatglmd::app
