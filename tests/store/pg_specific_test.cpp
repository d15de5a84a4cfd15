// What only the PostgreSQL backend has: its migrations, its connection messages, and the test
// cluster's promise to leave nothing behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

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

// Two nodes (two connections) count one user once; a window ends on time; a count can be given
// back; budgets of different names are apart.
TEST(PgSharedCounters, TwoNodesCountOneUserOnce) {
  const std::string url = PgCluster::shared().create_database("counters");
  auto a = open_pg_store({url, "", true});
  auto b = open_pg_store({url, "", true});
  ASSERT_TRUE(a.store && b.store) << a.error << b.error;
  auto* ca = a.store->shared_counters();
  auto* cb = b.store->shared_counters();
  ASSERT_TRUE(ca && cb);
  const core::UtcMs t0{1'700'000'000'000};
  const core::Millis minute{60'000};
  EXPECT_TRUE(ca->take("chat_rate", "u", t0, minute, 3));
  EXPECT_TRUE(cb->take("chat_rate", "u", t0 + core::Millis{10}, minute, 3));
  EXPECT_TRUE(ca->take("chat_rate", "u", t0 + core::Millis{20}, minute, 3));
  EXPECT_FALSE(cb->take("chat_rate", "u", t0 + core::Millis{30}, minute, 3)) << "3 per minute";
  EXPECT_TRUE(cb->take("chat_rate", "other", t0, minute, 3)) << "another user has their own";
  EXPECT_TRUE(cb->take("free_chats", "u", t0, minute, 1)) << "another budget is apart";
  EXPECT_FALSE(ca->take("free_chats", "u", t0, minute, 1));
  ca->give_back("free_chats", "u");
  EXPECT_TRUE(cb->take("free_chats", "u", t0, minute, 1)) << "a count given back is free again";
  EXPECT_TRUE(ca->take("chat_rate", "u", t0 + minute, minute, 3)) << "the window ended";
  EXPECT_FALSE(ca->take("chat_rate", "u", t0 + minute, minute, 0)) << "a zero budget";

  // Many threads on both nodes racing for one budget of 50 take exactly 50.
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto conn = open_pg_store({url, "", false});
      for (int i = 0; i < 20; ++i)
        taken += conn.store->shared_counters()->take("race", "u", t0, minute, 50) ? 1 : 0;
      (void)t;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(taken.load(), 50);
}

// Two nodes whose clocks disagree by ten minutes agree on a login code's life: the database's
// clock measures it, the caller's `now` only gives its length.
TEST(PgLoginCodes, LiveByTheDatabaseClockNotTheNodes) {
  const std::string url = PgCluster::shared().create_database("login_clock");
  auto a = open_pg_store({url, "", true});
  auto b = open_pg_store({url, "", true});
  ASSERT_TRUE(a.store && b.store) << a.error << b.error;
  const core::UtcMs node_a_now{1'700'000'000'000};  // years behind the database
  const core::UtcMs node_b_now = node_a_now + core::Millis{std::chrono::minutes(10)};
  ASSERT_TRUE(
      a.store->logins().save("246810", "u1", node_a_now + core::Millis{180'000}, node_a_now));
  EXPECT_EQ(b.store->logins().redeem("246810", node_b_now), "u1")
      << "node b's clock is past the code's end by node a's clock, the database's is not";
  ASSERT_TRUE(a.store->logins().save("135790", "u2", node_a_now - core::Millis{1}, node_a_now));
  EXPECT_FALSE(b.store->logins().redeem("135790", node_a_now - core::Millis{3'600'000}))
      << "ended by the database's clock, though node b's clock is an hour before its end";
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
