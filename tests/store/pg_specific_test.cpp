// What only the PostgreSQL backend has: its migrations, its connection messages, and the test
// cluster's promise to leave nothing behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "store/migrations.hpp"
#include "store/pg_conn.hpp"
#include "store/pg_store.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace chatglmd::store {
namespace {

using chatglmd::testing::PgCluster;

TEST(PgMigrations, AreTheTwinsOfTheSqliteOnes) {
  const auto& sqlite = embedded_migrations();
  const auto& pg = embedded_pg_migrations();
  ASSERT_EQ(pg.size(), sqlite.size()) << "every schema/NNN_*.sql has a schema/postgresql twin";
  for (std::size_t i = 0; i < pg.size(); ++i) {
    EXPECT_EQ(pg[i].version, sqlite[i].version);
    EXPECT_STREQ(pg[i].name, sqlite[i].name);
  }
}

TEST(PgMigrations, MigrateOnceThenOpenWithoutMigratingAndRefuseANewerDatabase) {
  auto& cluster = PgCluster::shared();
  const std::string url = cluster.create_database("migrations");
  auto not_yet = open_pg_store({url, "", false});
  EXPECT_FALSE(not_yet.store);
  EXPECT_NE(not_yet.error.find("run chatglmd migrate"), std::string::npos) << not_yet.error;

  auto first = open_pg_store({url, "", true});
  ASSERT_TRUE(first.store) << first.error;
  EXPECT_EQ(first.migration.from_version, 0);
  EXPECT_EQ(first.migration.to_version, latest_pg_schema_version());
  EXPECT_EQ(first.migration.applied.size(), embedded_pg_migrations().size());
  EXPECT_TRUE(first.store->healthy());

  auto again = open_pg_store({url, "", true});
  ASSERT_TRUE(again.store) << again.error;
  EXPECT_TRUE(again.migration.applied.empty());
  EXPECT_TRUE(open_pg_store({url, "", false}).store);

  // A database a newer chatglmd wrote: refused, nothing changed.
  const std::string db = url.substr(url.rfind('/') + 1);
  cluster.sql(db, "UPDATE chatglmd_schema SET version = version + 1");
  auto newer = open_pg_store({url, "", true});
  EXPECT_FALSE(newer.store);
  EXPECT_NE(newer.error.find("newer than this chatglmd"), std::string::npos) << newer.error;
  EXPECT_FALSE(open_pg_store({url, "", false}).store);
  EXPECT_FALSE(first.store->healthy()) << "/readyz turns to 503 on a schema it does not know";
}

TEST(PgConnection, NamesTheServerButNeverThePassword) {
  EXPECT_EQ(describe_conninfo("postgresql://chat:s3cret@db.example:5433/orders"),
            "host=db.example port=5433 dbname=orders user=chat");
  EXPECT_EQ(describe_conninfo("postgresql://chat@db.example/orders?password=s3cret"),
            "host=db.example dbname=orders user=chat");
  // Nothing listens on port 1: the error says where it tried, without the password.
  auto r = open_pg_store({"postgresql://chat:s3cret@127.0.0.1:1/orders", "filesecret", true, 2});
  ASSERT_FALSE(r.store);
  EXPECT_NE(r.error.find("cannot connect to PostgreSQL at host=127.0.0.1 port=1 dbname=orders"),
            std::string::npos)
      << r.error;
  EXPECT_EQ(r.error.find("s3cret"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("filesecret"), std::string::npos) << r.error;
}

bool process_mentions(const std::string& needle) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos) return true;
  }
  return false;
}

// A test process killed with SIGKILL (no destructor, no atexit) leaves no server and no folder.
TEST(PgTestCluster, IsStoppedAndRemovedWhenItsOwnerIsKilled) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    try {
      auto* cluster = new PgCluster();  // never deleted: the process dies holding it
      const std::string folder = cluster->folder() + "\n";
      [[maybe_unused]] auto n = ::write(fds[1], folder.data(), folder.size());
    } catch (...) {
      ::_exit(3);
    }
    ::raise(SIGKILL);
  }
  ::close(fds[1]);
  std::string folder;
  char c;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') folder += c;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the owner did not start its cluster";
  ASSERT_FALSE(folder.empty());
  EXPECT_TRUE(chatglmd::testing::eventually(
      [&] { return !std::filesystem::exists(folder) && !process_mentions(folder + "/data"); },
      std::chrono::seconds(30)))
      << "the watchdog left " << folder << " or its server behind";
}

}  // namespace
}  // namespace chatglmd::store
