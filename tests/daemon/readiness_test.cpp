// A store the daemon cannot write, through the real binary: serve refuses to start and every
// command that writes names the file, its owner and mode and the user; /readyz turns 503 with a
// reason when writes start failing at run time, and every tick that fails on it is counted.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "daemon/daemon_client.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string user_name(uid_t uid) {
  const passwd* p = ::getpwuid(uid);
  return p ? p->pw_name : std::to_string(uid);
}
std::string group_name(gid_t gid) {
  const group* g = ::getgrgid(gid);
  return g ? g->gr_name : std::to_string(gid);
}

// How the test makes the database unwritable for the daemon, as root and as anyone else: root
// ignores file modes, so as root the daemon runs as `nobody` (setpriv, as systemd's User= would)
// against a root-owned 0644 file in a folder nobody may write to, exactly what `migrate` run as
// root leaves behind; otherwise the file is the test user's own, mode 0444.
struct UnwritableStore {
  std::vector<std::string> prefix;  // runs a command as the daemon's user
  std::string expected;             // the sentence the daemon must print

  explicit UnwritableStore(const DaemonHarness& d) {
    const std::string db = d.db();
    if (::geteuid() == 0) {
      const passwd* nobody = ::getpwnam("nobody");
      if (!nobody) throw std::runtime_error("no user nobody");
      // The folder belongs to the service user (the README's install does this), the file not.
      if (::chown(d.dir().c_str(), nobody->pw_uid, nobody->pw_gid) != 0 ||
          ::chmod(d.dir().c_str(), 0755) != 0 || ::chmod(db.c_str(), 0644) != 0)
        throw std::runtime_error("cannot prepare the store folder");
      prefix = {"/usr/bin/setpriv", "--reuid=" + std::to_string(nobody->pw_uid),
                "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups"};
      expected = "store " + db + " is not writable by user nobody (uid " +
                 std::to_string(nobody->pw_uid) + "): owned by root:" + group_name(0) +
                 " mode 0644";
    } else {
      if (::chmod(db.c_str(), 0444) != 0) throw std::runtime_error("chmod failed");
      struct stat st {};
      ::stat(db.c_str(), &st);
      expected = "store " + db + " is not writable by user " + user_name(::geteuid()) + " (uid " +
                 std::to_string(::geteuid()) + "): owned by " + user_name(st.st_uid) + ":" +
                 group_name(st.st_gid) + " mode 0444";
    }
  }
  std::vector<std::string> argv(const DaemonHarness& d, std::vector<std::string> args) const {
    std::vector<std::string> all = prefix;
    all.insert(all.end(), {CHATGLMD_BIN, "-c", d.ini()});
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  CommandResult run(const DaemonHarness& d, std::vector<std::string> args) const {
    return run_command(argv(d, std::move(args)));
  }
};

TEST(Readiness, AStoreTheDaemonCannotWriteIsNamedWithItsOwnerModeAndUser) {
  DaemonHarness d(DaemonOptions{{}, {}, false});  // migrated by the test's user
  run_ok(d, {"user", "add", "reader", "--quota", "5"});
  UnwritableStore store(d);

  // serve would open the file (SQLite falls back to read-only), begin and roll back, and report
  // ready while every write fails: it refuses to start instead, and says why.
  const std::string log = d.dir() + "/refused.log";
  BackgroundProcess serve(store.argv(d, {"serve"}), log);
  EXPECT_EQ(serve.wait(10s), 1) << read_file(log);
  EXPECT_NE(read_file(log).find(store.expected), std::string::npos) << read_file(log);

  // A command that writes says the same; one that only reads still works.
  auto grant = store.run(d, {"user", "grant", "reader", "50"});
  EXPECT_EQ(grant.exit_code, 1) << grant.err;
  EXPECT_NE(grant.err.find(store.expected), std::string::npos) << grant.err;
  auto show = store.run(d, {"--json", "user", "show", "reader"});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("\"surplusQuota\":5"), std::string::npos) << show.out;
}

// Lowers serve's file-size limit: a write at or past `bytes` fails with EFBIG, as a full disk
// fails it, while the files stay where they are.
void limit_file_size(pid_t pid, rlim_t bytes) {
  rlimit now{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, nullptr, &now), 0);
  rlimit lowered = now;
  lowered.rlim_cur = bytes;
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, &lowered, nullptr), 0) << std::strerror(errno);
}

std::uintmax_t size_of(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

TEST(Readiness, ReadyzTellsWhenWritesFailAndEveryFailedTickIsCounted) {
  DaemonOptions o;
  // Ticks every second, so failed ticks come quickly.
  for (const char* job : {"timeout-close", "replenish-shipment", "reconcile"})
    o.config[std::string("jobs.") + job + ".interval"] = "1s";
  DaemonHarness d(o);
  auto ready = d.request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");
  const std::string failed = R"(chatglmd_job_runs_total{job="reconcile",outcome="failed"})";
  EXPECT_EQ(metric_value(d, failed), 0);

  // The WAL grows with every commit; the log by a line now and then. A limit 64 KiB past the
  // larger of the two stops the store's writes within seconds and leaves the log room to speak.
  // The first ticks have written (and so has the start's probe, when there is one).
  ASSERT_TRUE(eventually([&] { return size_of(d.db() + "-wal") > 0; }, 10s));
  const auto wal = size_of(d.db() + "-wal");
  const auto log = size_of(d.dir() + "/serve.log");
  limit_file_size(d.pid(), std::max(wal, log) + 64 * 1024);
  // Every tick that ends on the store's error counts as failed, and says so.
  EXPECT_TRUE(eventually([&] { return metric_value(d, failed) >= 1; }, 20s)) << d.log();
  // (Said once a minute for all jobs and requests together: the first to fail says it.)
  EXPECT_NE(d.log().find(": tick failed: store error: "), std::string::npos) << d.log();
  HttpReply not_ready;
  EXPECT_TRUE(eventually(
      [&] {
        not_ready = d.request("GET", "/readyz");
        return not_ready.status == 503;
      },
      10s))
      << d.log();
  EXPECT_NE(not_ready.body.find("not ready: store " + d.db() + " does not accept writes: "),
            std::string::npos)
      << not_ready.body;

  // Room again: ready once the cached answer is older than the probe interval.
  limit_file_size(d.pid(), RLIM_INFINITY);
  EXPECT_TRUE(eventually([&] { return d.request("GET", "/readyz").status == 200; }, 10s))
      << d.log();
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

}  // namespace
}  // namespace chatglmd::testing
