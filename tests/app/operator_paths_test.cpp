// The real binary run the way an operator runs it: from another folder than the config's, as
// another user than the files' owner, before the database exists.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <filesystem>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::run_command;
using testing::write_file;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// An install: /etc-like folder with the INI file and a secret named relative to it, and an
// unrelated working directory (root's home in the report that found this).
class OperatorPaths : public ::testing::Test {
 protected:
  OperatorPaths() {
    fs::create_directories(etc());
    fs::create_directories(elsewhere());
    write_file(etc() / "token_secret", "s3cret-for-tokens\n");
    write_ini("");
  }
  fs::path etc() const { return dir_.path() / "etc"; }
  fs::path elsewhere() const { return dir_.path() / "home"; }
  fs::path db() const { return etc() / "chatglmd.db"; }
  void write_ini(const std::string& extra) {
    write_file(etc() / "chatglmd.ini",
               "[store]\npath = chatglmd.db\n[auth]\ntoken_secret_file = token_secret\n" + extra);
  }
  // `chatglmd -c <ini> args...` with `cwd` as the working directory (env -C: coreutils).
  CommandResult run_in(const fs::path& cwd, const std::string& ini, std::vector<std::string> args,
                       const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = {"/usr/bin/env", "-C", cwd.string(), CHATGLMD_BIN, "-c", ini};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, env);
  }
  CommandResult run(std::vector<std::string> args) {
    return run_in(elsewhere(), (etc() / "chatglmd.ini").string(), std::move(args));
  }
  testing::TempDir dir_;
};

TEST_F(OperatorPaths, RelativePathsResolveAgainstTheConfigFilesFolder) {
  auto migrated = run({"migrate"});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_TRUE(fs::exists(db())) << "the database sits next to the INI file";
  EXPECT_FALSE(fs::exists(elsewhere() / "chatglmd.db")) << "not in the working directory";

  auto granted = run({"user", "grant", "wx-op", "50"});
  ASSERT_EQ(granted.exit_code, 0) << granted.err;
  // The same database through a relative -c from yet another folder.
  auto shown = run_in(dir_.path(), "etc/chatglmd.ini", {"user", "show", "wx-op", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(boost::json::parse(shown.out).at("surplusQuota").as_int64(), 50);
  // The relative secret file is found too.
  auto token = run({"user", "token", "wx-op"});
  EXPECT_EQ(token.exit_code, 0) << token.err;

  auto checked = run({"check-config"});
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_TRUE(contains(checked.out, "store: " + db().string())) << checked.out;
  EXPECT_TRUE(fs::is_empty(elsewhere())) << "nothing was written where the commands ran";
}

TEST_F(OperatorPaths, FlagsAndEnvironmentResolveAgainstTheWorkingDirectory) {
  auto migrated =
      run_in(elsewhere(), (etc() / "chatglmd.ini").string(), {"migrate", "--db", "flag.db"});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_TRUE(fs::exists(elsewhere() / "flag.db"));
  auto env = run_in(elsewhere(), (etc() / "chatglmd.ini").string(), {"check-config"},
                    {{"CHATGLMD_STORE_PATH", "env.db"}});
  EXPECT_TRUE(contains(env.out, "store: " + (elsewhere() / "env.db").string())) << env.out;
}

TEST_F(OperatorPaths, OnlyMigrateAndServeCreateADatabase) {
  auto r = run({"user", "grant", "wx-op", "50"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "no database at " + db().string() + " (run chatglmd migrate)"))
      << r.err;
  EXPECT_FALSE(fs::exists(db()));
  EXPECT_TRUE(fs::is_empty(elsewhere()));
  for (const auto& cmd : std::vector<std::vector<std::string>>{
           {"order", "list"}, {"jobs", "list"}, {"words", "add", "x"}, {"product", "list"}}) {
    auto other = run(cmd);
    EXPECT_EQ(other.exit_code, 2) << cmd[0] << " " << cmd[1] << ": " << other.err;
    EXPECT_FALSE(fs::exists(db())) << cmd[0] << " " << cmd[1];
  }

  // An older schema (here: none at all) is not upgraded behind the operator's back.
  ASSERT_EQ(run_command({"/usr/bin/sqlite3", db().string(), "CREATE TABLE t (x)"}).exit_code, 0);
  auto old = run({"user", "grant", "wx-op", "50"});
  EXPECT_EQ(old.exit_code, 2);
  EXPECT_TRUE(contains(old.err, "run chatglmd migrate")) << old.err;
  EXPECT_EQ(run_command({"/usr/bin/sqlite3", db().string(), "PRAGMA user_version"}).out, "0\n");

  ASSERT_EQ(run({"migrate"}).exit_code, 0);
  EXPECT_EQ(run({"user", "grant", "wx-op", "50"}).exit_code, 0);
  ASSERT_EQ(run_command({"/usr/bin/sqlite3", db().string(), "PRAGMA user_version = 99"}).exit_code,
            0);
  auto newer = run({"user", "show", "wx-op"});
  EXPECT_EQ(newer.exit_code, 2);
  EXPECT_TRUE(contains(newer.err, "newer")) << newer.err;
}

TEST_F(OperatorPaths, AMissingWebDirIsAConfigError) {
  write_ini("[http]\nweb_dir = no-such-web\nlisten = 127.0.0.1:0\n");
  auto checked = run({"check-config"});
  EXPECT_EQ(checked.exit_code, 2);
  EXPECT_TRUE(contains(checked.err, "http.web_dir " + (etc() / "no-such-web").string() +
                                        ": No such file or directory"))
      << checked.err;
  auto served = run({"serve"});
  EXPECT_EQ(served.exit_code, 2);
  EXPECT_TRUE(contains(served.err, "No such file or directory")) << served.err;
  EXPECT_FALSE(fs::exists(db())) << "serve stopped before creating the store";
}

TEST_F(OperatorPaths, ErrorsAboutFilesCarryTheOsReason) {
  auto no_config = run_in(elsewhere(), (etc() / "missing.ini").string(), {"check-config"});
  EXPECT_EQ(no_config.exit_code, 2);
  EXPECT_TRUE(contains(no_config.err, "missing.ini: No such file or directory")) << no_config.err;

  write_file(etc() / "chatglmd.ini",
             "[store]\npath = state/chatglmd.db\n[auth]\ntoken_secret_file = gone\n");
  auto checked = run({"check-config"});
  EXPECT_EQ(checked.exit_code, 2);
  EXPECT_TRUE(contains(checked.err, "gone: No such file or directory")) << checked.err;
  EXPECT_TRUE(contains(
      checked.err, "store folder " + (etc() / "state").string() + ": No such file or directory"))
      << checked.err;
}

// check-config as root passes where the service user fails: run it as an unprivileged user.
TEST_F(OperatorPaths, CheckConfigAsTheServiceUserShowsPermissionDenied) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a command as another user";
  if (::access("/usr/sbin/runuser", X_OK) != 0) GTEST_SKIP() << "runuser is not installed";
  // Everything readable by others except the secret (mode 0600, owned by root) and the store
  // folder (mode 0755, owned by root: not writable for nobody).
  fs::permissions(dir_.path(), fs::perms(0755));
  fs::create_directories(etc() / "state");
  for (const auto& p : {etc(), elsewhere(), etc() / "state"}) fs::permissions(p, fs::perms(0755));
  write_file(etc() / "chatglmd.ini",
             "[store]\npath = state/chatglmd.db\n[auth]\ntoken_secret_file = token_secret\n");
  fs::permissions(etc() / "chatglmd.ini", fs::perms(0644));
  fs::permissions(etc() / "token_secret", fs::perms(0600));

  auto as_root = run({"check-config"});
  EXPECT_EQ(as_root.exit_code, 0) << as_root.err;
  auto as_nobody = run_command({"/usr/sbin/runuser", "-u", "nobody", "--", "/usr/bin/env", "-C",
                                elsewhere().string(), CHATGLMD_BIN, "-c",
                                (etc() / "chatglmd.ini").string(), "check-config"});
  if (contains(as_nobody.err, "Permission denied") && contains(as_nobody.err, "cannot execute")) {
    GTEST_SKIP() << "the build folder is not reachable for nobody: " << as_nobody.err;
  }
  EXPECT_EQ(as_nobody.exit_code, 2) << as_nobody.err;
  EXPECT_TRUE(contains(
      as_nobody.err,
      "cannot read secret file " + (etc() / "token_secret").string() + ": Permission denied"))
      << as_nobody.err;
  EXPECT_TRUE(contains(as_nobody.err, "store folder " + (etc() / "state").string() +
                                          " is not writable: Permission denied"))
      << as_nobody.err;
}

}  // namespace
}  // namespace chatglmd
