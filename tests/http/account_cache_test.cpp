// The chat start's account status and models in memory, checked against the store's account
// stamp: two real connections to one SQLite file, as serve has (the main one that changes
// accounts, the stamp reader that never waits).
#include "http/handlers/account_cache.hpp"

#include <gtest/gtest.h>

#include "store/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::http {
namespace {

using store::AccountStatus;

struct AccountCacheTest : ::testing::Test {
  AccountCacheTest() {
    main = store::open_sqlite_store({dir.file("t.db")}).store;
    reader = store::open_sqlite_store({dir.file("t.db"), "FULL", 0, false}).store;
    main->accounts().create({"u1", 5, 5, "glm-4", AccountStatus::Ok});
    main->accounts().create({"u2", 5, 5, "", AccountStatus::Ok});
  }
  // What a chat start does on a miss: read the account, then keep it under the stamp it read
  // before.
  void read_through(AccountCache& cache, const std::string& openid) {
    auto stamp = cache.current_stamp();
    ASSERT_TRUE(stamp);
    cache.remember(*main->accounts().get(openid), *stamp);
  }
  std::optional<AccountCache::Known> now(AccountCache& cache, const std::string& openid) {
    auto stamp = cache.current_stamp();
    EXPECT_TRUE(stamp);
    return cache.find(openid, *stamp);
  }

  testing::TempDir dir;
  std::unique_ptr<store::Store> main;
  std::unique_ptr<store::Store> reader;
};

TEST_F(AccountCacheTest, AnAccountReadOnceIsAnsweredFromMemory) {
  AccountCache cache(reader->accounts());
  EXPECT_FALSE(now(cache, "u1")) << "nothing before the first read";
  read_through(cache, "u1");
  auto known = now(cache, "u1");
  ASSERT_TRUE(known);
  EXPECT_EQ(known->status, AccountStatus::Ok);
  EXPECT_EQ(known->model_types, "glm-4");
  EXPECT_FALSE(now(cache, "u2"));
  // Quota is charged in the store, never from here: using it up leaves the stamp alone.
  EXPECT_EQ(main->accounts().consume_one("u1"), store::Charge::Charged);
  main->accounts().grant("u1", 3, "glm-4");  // no new model
  EXPECT_TRUE(now(cache, "u1"));
}

TEST_F(AccountCacheTest, AFreezeOrUnfreezeEmptiesTheMemoryAtOnce) {
  AccountCache cache(reader->accounts());
  read_through(cache, "u1");
  read_through(cache, "u2");
  ASSERT_TRUE(main->accounts().set_status("u1", AccountStatus::Frozen));
  EXPECT_FALSE(now(cache, "u1")) << "the freeze committed: the next chat start reads again";
  EXPECT_FALSE(now(cache, "u2"));
  read_through(cache, "u1");
  EXPECT_EQ(now(cache, "u1")->status, AccountStatus::Frozen);
  ASSERT_TRUE(main->accounts().set_status("u1", AccountStatus::Ok));
  EXPECT_FALSE(now(cache, "u1"));
}

TEST_F(AccountCacheTest, AGrantThatAddsAModelEmptiesTheMemory) {
  AccountCache cache(reader->accounts());
  read_through(cache, "u1");
  main->accounts().grant("u1", 1, "glm-3-turbo");
  EXPECT_FALSE(now(cache, "u1"));
  read_through(cache, "u1");
  EXPECT_EQ(now(cache, "u1")->model_types, "glm-4,glm-3-turbo");
}

// A row read before a freeze but kept after it would answer for the frozen account.
TEST_F(AccountCacheTest, ARowReadUnderAnOlderStampIsNotKept) {
  AccountCache cache(reader->accounts());
  auto before = cache.current_stamp();
  ASSERT_TRUE(before);
  auto row = *main->accounts().get("u1");
  ASSERT_TRUE(main->accounts().set_status("u1", AccountStatus::Frozen));
  EXPECT_FALSE(now(cache, "u1"));  // another chat start saw the new stamp meanwhile
  cache.remember(row, *before);
  EXPECT_FALSE(now(cache, "u1")) << "the stale row was dropped";
}

}  // namespace
}  // namespace chatglmd::http
