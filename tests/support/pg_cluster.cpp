#include "support/pg_cluster.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "support/ports.hpp"
#include "support/process.hpp"

namespace chatglmd::testing {
namespace {

namespace fs = std::filesystem;

// The newest server of the postgresql package (Debian keeps them out of PATH on purpose).
std::string find_server_bin() {
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto bin = entry.path() / "bin";
    if (fs::exists(bin / "initdb", ec) && fs::exists(bin / "pg_ctl", ec) && bin.string() > best)
      best = bin.string();
  }
  if (best.empty())
    throw std::runtime_error(
        "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb and pg_ctl): "
        "the PostgreSQL store tests need them; install the postgresql package (make deps does)");
  return best;
}

bool running_as_root() {
  return ::geteuid() == 0;
}

// postgres refuses to run as root: the cluster belongs to `nobody` then.
const passwd& cluster_user() {
  const passwd* p = ::getpwnam("nobody");
  if (p == nullptr)
    throw std::runtime_error("run as root, but there is no user `nobody` for the test cluster");
  return *p;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  std::string s = all.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

std::string tail_of_whole(const std::string& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

PgCluster& PgCluster::shared() {
  static PgCluster cluster;
  return cluster;
}

std::string PgCluster::run_as(const std::string& what, const std::vector<std::string>& argv) {
  std::vector<std::string> full;
  if (running_as_root()) full = {"/usr/sbin/runuser", "-u", "nobody", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  auto r = run_command(full);
  if (r.exit_code != 0)
    throw std::runtime_error("test cluster: " + what + " failed (exit " +
                             std::to_string(r.exit_code) + "): " + r.out + r.err +
                             tail_of(folder_ + "/log"));
  return r.out;
}

PgCluster::PgCluster() {
  bin_ = find_server_bin();
  std::string pattern = "/tmp/chatglmd-pg-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  folder_ = pattern;
  if (running_as_root()) {
    const passwd& user = cluster_user();
    if (::chown(folder_.c_str(), user.pw_uid, user.pw_gid) != 0)
      throw std::runtime_error("cannot hand " + folder_ + " to nobody");
  }

  // The watchdog first, so that even a start that crashes half-way is cleaned up.
  const std::string stop_command =
      std::string(running_as_root() ? "/usr/sbin/runuser -u nobody -- " : "") + bin_ +
      "/pg_ctl -D " + shell_quote(folder_ + "/data") +
      " -m immediate stop >/dev/null 2>&1; rm -rf " + shell_quote(folder_);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  watchdog_ = ::fork();
  if (watchdog_ < 0) throw std::runtime_error("fork failed");
  if (watchdog_ == 0) {
    // Only async-signal-safe calls from here: the test process may have threads.
    ::setsid();  // out of the test's process group: a kill aimed at the test spares it
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    for (int fd = 3; fd < 1024; ++fd)
      if (fd != fds[0]) ::close(fd);
    char byte = 0;
    for (;;) {
      const ssize_t n = ::read(fds[0], &byte, 1);
      if (n == 1) ::_exit(0);  // goodbye: the owner stopped the cluster itself
      if (n == 0) break;       // the owner died
      if (errno != EINTR) break;
    }
    const char* args[] = {"/bin/sh", "-c", stop_command.c_str(), nullptr};
    ::execv(args[0], const_cast<char* const*>(args));
    ::_exit(127);
  }
  ::close(fds[0]);
  goodbye_fd_ = fds[1];

  run_as("initdb", {bin_ + "/initdb", "-D", folder_ + "/data", "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--locale=C", "--no-sync"});
  // A free port may be taken between the check and the start: try a few.
  for (int attempt = 0;; ++attempt) {
    port_ = free_port();
    try {
      start();
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 3) throw;
    }
  }
}

void PgCluster::start() {
  // fsync off keeps a 2-core machine quick and loses nothing when only the server is killed
  // (the fault tests' stop -m immediate): a commit still writes its WAL to the OS before it
  // returns. synchronous_commit stays on for exactly that reason.
  const std::string options = "-p " + std::to_string(port_) + " -k " + folder_ +
                              " -c listen_addresses=127.0.0.1 -c fsync=off "
                              "-c full_page_writes=off "
                              "-c max_connections=300 -c shared_buffers=16MB";
  run_as("pg_ctl start", {bin_ + "/pg_ctl", "-D", folder_ + "/data", "-l", folder_ + "/log", "-w",
                          "-t", "60", "-o", options, "start"});
}

void PgCluster::stop_immediate() {
  run_as("pg_ctl stop", {bin_ + "/pg_ctl", "-D", folder_ + "/data", "-m", "immediate", "stop"});
}

PgCluster::~PgCluster() {
  try {
    run_as("pg_ctl stop", {bin_ + "/pg_ctl", "-D", folder_ + "/data", "-m", "fast", "-w", "stop"});
  } catch (const std::exception&) {
    // Not running (a fault test stopped it, or the start failed): the folder still goes.
  }
  std::error_code ec;
  fs::remove_all(folder_, ec);
  if (goodbye_fd_ >= 0) {
    const char byte = 1;
    [[maybe_unused]] auto n = ::write(goodbye_fd_, &byte, 1);
    ::close(goodbye_fd_);
  }
  if (watchdog_ > 0) ::waitpid(watchdog_, nullptr, 0);
}

std::string PgCluster::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PgCluster::sql(const std::string& database, const std::string& statement) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url(database).c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("test cluster: cannot connect: " +
                             std::string(PQerrorMessage(conn.get())));
  std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(conn.get(), statement.c_str()), PQclear);
  const auto status = PQresultStatus(r.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw std::runtime_error("test cluster: " + statement + ": " + PQresultErrorMessage(r.get()));
}

void PgCluster::add_password_user(const std::string& user, const std::string& password) {
  sql("postgres", "CREATE ROLE " + user + " LOGIN SUPERUSER PASSWORD '" + password + "'");
  // pg_hba.conf is read top down: this user's line goes before the trust lines.
  const std::string hba = folder_ + "/data/pg_hba.conf";
  const std::string rest = tail_of_whole(hba);
  std::ofstream out(hba, std::ios::trunc);
  out << "host all " << user << " 127.0.0.1/32 scram-sha-256\n" << rest;
  out.close();
  sql("postgres", "SELECT pg_reload_conf()");
}

std::string PgCluster::create_database(const std::string& prefix) {
  std::string name;
  for (char c : prefix)
    name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  name = name.substr(0, 40) + "_" + std::to_string(++databases_);
  sql("postgres", "CREATE DATABASE " + name);
  return url(name);
}

}  // namespace chatglmd::testing
