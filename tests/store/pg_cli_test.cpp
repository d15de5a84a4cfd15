// The real chatglmd binary on a PostgreSQL store: `--db postgresql://...` and store.url select it,
// migrate works and is idempotent, admin commands share the data, store.password_file is used
// and never printed, and an unreachable server is named without its password.
#include <gtest/gtest.h>

#include "support/pg_cluster.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd {
namespace {

using testing::PgCluster;
using testing::run_command;

TEST(PgCli, MigrateThenAdminCommandsShareOneDatabase) {
  const std::string url = PgCluster::shared().create_database("cli");
  auto first = run_command({CHATGLMD_BIN, "--db", url, "migrate"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("applied 001_init.sql"), std::string::npos) << first.out;
  auto again = run_command({CHATGLMD_BIN, "--db", url, "migrate"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("schema is up to date"), std::string::npos) << again.out;

  // The environment variable selects it too, as every key's does.
  const std::map<std::string, std::string> env = {{"CHATGLMD_STORE_URL", url}};
  EXPECT_EQ(run_command({CHATGLMD_BIN, "user", "add", "o1", "--quota", "5"}, env).exit_code, 0);
  EXPECT_EQ(run_command({CHATGLMD_BIN, "--db", url, "user", "grant", "o1", "3"}).exit_code, 0);
  auto show = run_command({CHATGLMD_BIN, "--json", "user", "show", "o1"}, env);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("\"surplusQuota\":8"), std::string::npos) << show.out;

  auto backup = run_command({CHATGLMD_BIN, "--db", url, "backup", "/tmp/never.db"});
  EXPECT_EQ(backup.exit_code, 2);
  EXPECT_NE(backup.err.find("pg_dump"), std::string::npos) << backup.err;
}

TEST(PgCli, AnEmptyDatabaseMustBeMigratedFirst) {
  const std::string url = PgCluster::shared().create_database("cli_empty");
  auto r = run_command({CHATGLMD_BIN, "--db", url, "user", "show", "o1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("run chatglmd migrate"), std::string::npos) << r.err;
}

TEST(PgCli, ThePasswordComesFromItsFileAndIsNeverPrinted) {
  auto& cluster = PgCluster::shared();
  cluster.add_password_user("chatpw", "Pw-from-file-42");
  const std::string db = cluster.create_database("cli_pw");
  const std::string url =
      "postgresql://chatpw@127.0.0.1:" + std::to_string(cluster.port()) + db.substr(db.rfind('/'));
  testing::TempDir dir;
  testing::write_file(dir.path() / "pw", "Pw-from-file-42\n");
  testing::write_file(dir.path() / "wrong", "not-it\n");
  auto ok =
      run_command({CHATGLMD_BIN, "migrate"}, {{"CHATGLMD_STORE_URL", url},
                                              {"CHATGLMD_STORE_PASSWORD_FILE", dir.file("pw")},
                                              {"PGPASSFILE", "/nonexistent"}});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto refused =
      run_command({CHATGLMD_BIN, "migrate"}, {{"CHATGLMD_STORE_URL", url},
                                              {"CHATGLMD_STORE_PASSWORD_FILE", dir.file("wrong")},
                                              {"PGPASSFILE", "/nonexistent"}});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("password authentication failed"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("not-it"), std::string::npos) << refused.err;
}

TEST(PgCli, AnUnreachableServerAtStartIsExit2NamingItWithoutThePassword) {
  testing::TempDir dir;
  testing::write_file(dir.path() / "secret", "x");
  const std::string url =
      "postgresql://chat:url-secret@127.0.0.1:" + std::to_string(testing::free_port()) + "/orders";
  auto r =
      run_command({CHATGLMD_BIN, "serve"}, {{"CHATGLMD_STORE_URL", url},
                                            {"CHATGLMD_AUTH_TOKEN_SECRET_FILE", dir.file("secret")},
                                            {"CHATGLMD_HTTP_LISTEN", "127.0.0.1:0"}});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot connect to PostgreSQL at host=127.0.0.1"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("dbname=orders user=chat"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("url-secret"), std::string::npos) << r.err;
  auto bad = run_command({CHATGLMD_BIN, "--db", "/tmp/x.db", "migrate"},
                         {{"CHATGLMD_STORE_URL", "mysql://h/db"}});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("store.url"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace chatglmd
