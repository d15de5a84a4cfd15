#pragma once
// A throwaway PostgreSQL cluster for tests: initdb + pg_ctl from the postgresql package's own
// folder (/usr/lib/postgresql/<version>/bin), on a free port of 127.0.0.1, data and socket in a
// fresh folder under /tmp, run as `nobody` when the test runs as root (postgres refuses root).
// It never touches a machine-wide service. The cluster stops when the object dies, and also
// when the test process dies any other way (a crash, SIGKILL, a ctest timeout): a watchdog
// process, in its own session, waits on a pipe only this process holds and stops the server
// (pg_ctl -m immediate) and removes its folder when the pipe closes without a goodbye.
#include <sys/types.h>

#include <string>
#include <vector>

namespace chatglmd::testing {

class PgCluster {
 public:
  // Throws std::runtime_error saying what is missing (no server binaries: install postgresql).
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // The one cluster of this test process, started on first use.
  static PgCluster& shared();

  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:PORT/DB
  std::string url(const std::string& database) const;
  // A new empty database named after `prefix` (made unique); returns its url.
  std::string create_database(const std::string& prefix);
  // Runs SQL on a database as the superuser (test set-up and checks only).
  void sql(const std::string& database, const std::string& statement);
  // A login role that must give `password` over TCP (everyone else is trusted).
  void add_password_user(const std::string& user, const std::string& password);

  // For fault tests: kill the server hard, and bring it back on the same port and data.
  void stop_immediate();
  void start();
  pid_t watchdog_pid() const { return watchdog_; }
  const std::string& folder() const { return folder_; }

 private:
  std::string run_as(const std::string& what, const std::vector<std::string>& argv);
  std::string bin_;
  std::string folder_;
  int port_ = 0;
  int goodbye_fd_ = -1;  // the watchdog's pipe; a byte on it means "stopped cleanly, go"
  pid_t watchdog_ = -1;
  int databases_ = 0;
};

}  // namespace chatglmd::testing
