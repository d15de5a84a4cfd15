// `chatglmd store copy`: a SQLite deployment with orders in every state, their audit chains,
// accounts, products, a refund, notifies, words, the whitelist and job history moves to
// PostgreSQL whole, with its ids; a target that holds data is refused and left as it was.
#include <gtest/gtest.h>

#include "core/order_id.hpp"
#include "store/pg_conn.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_orders.hpp"

namespace chatglmd::store {
namespace {

using core::Cause;
using core::OrderEvent;
using core::OrderState;
using core::UtcMs;

const UtcMs kT0{1'700'000'000'000};

core::Order order(int n, const std::string& openid) {
  return testing::make_order(core::order_id_from(static_cast<std::uint64_t>(n)), openid, kT0);
}

void fill(Store& s) {
  ASSERT_TRUE(s.products().add({1001, "50 chats", "d", 50, core::Fen{999}, "glm-4", true, 1}));
  for (int n = 1; n <= 8; ++n) {
    const auto o = order(n, "user" + std::to_string(n % 3));
    ASSERT_TRUE(s.orders().insert(o, kT0));
    if (n % 4 == 0) {
      s.orders().apply(o.order_id, OrderEvent::CloseConfirmed, Cause::TimeoutClose, "", kT0);
      continue;
    }
    if (n % 4 == 1) continue;  // stays CREATED
    s.orders().apply(o.order_id, OrderEvent::PaymentConfirmed, Cause::Notify, "", kT0,
                     PaymentFacts{"T" + o.order_id, kT0});
    if (n % 4 == 3) s.orders().deliver(o.order_id, Cause::Delivery, kT0);
  }
  const auto refunded = core::order_id_from(3);
  ASSERT_EQ(s.refunds().request(refunded, "test", Cause::Admin, kT0, kT0).outcome,
            RefundRequestOutcome::Requested);
  s.accounts().grant("vip", 7, "glm-4");
  ASSERT_EQ(s.accounts().consume_one("vip"), Charge::Charged);
  s.notifies().save({"N1", core::order_id_from(2), "TRADE_SUCCESS", "ok", "a=b", kT0});
  s.words().add({"bad", "worse"}, kT0);
  s.whitelist().add("vip", kT0);
  s.jobs().record_run({0, "reconcile", "node", kT0, kT0, "ok", 1, 1, 0, 0, ""});
  for (int n = 0; n < 3; ++n)
    s.chat_log().append({"user1", "glm-4", "original", kT0, 120, 900, 10, 20, "ok"});
}

// Every identity column's sequence must hand out an id above the copied ones, or the first row
// a node inserts after the move collides with a copied one.
void expect_every_sequence_past_its_rows(const std::string& url) {
  PgConn conn(PgOptions{url, "", 5, "pg_copy_test"});
  std::lock_guard lock(conn.mutex());
  std::vector<std::string> tables;
  auto list = conn.prepare(
      "SELECT table_name::text FROM information_schema.columns WHERE table_schema = "
      "current_schema() "
      "AND column_name = 'id' AND pg_get_serial_sequence(table_name::text, 'id') IS NOT NULL "
      "ORDER BY table_name");
  while (list.step()) tables.push_back(list.text(0));
  EXPECT_GE(tables.size(), 8u) << "every table with an identity id";
  for (const auto& table : tables) {
    auto next = conn.prepare("SELECT nextval(pg_get_serial_sequence('" + table +
                             "', 'id')), (SELECT coalesce(max(id), 0) FROM " + table + ")");
    ASSERT_TRUE(next.step());
    EXPECT_GT(next.int64(0), next.int64(1)) << table;
  }
}

TEST(PgStoreCopy, CopiesEveryTableCheckedAndRefusesANonEmptyTarget) {
  testing::TempDir dir;
  const std::string db = dir.file("old.db");
  std::vector<core::Order> before;
  std::vector<OrderEventRow> events_before;
  {
    auto sqlite = open_sqlite_store({db});
    ASSERT_TRUE(sqlite.store) << sqlite.error;
    fill(*sqlite.store);
    before = sqlite.store->orders().list({std::nullopt, std::nullopt, 100});
    for (const auto& o : before) {
      auto ev = sqlite.store->orders().events(o.order_id);
      events_before.insert(events_before.end(), ev.begin(), ev.end());
    }
  }
  const std::string url = testing::PgCluster::shared().create_database("copy");
  auto r =
      testing::run_command({CHATGLMD_BIN, "store", "copy", "--from", "sqlite:" + db, "--to", url});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("openai_order"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("paid 3996 fen"), std::string::npos) << r.out;  // 4 paid orders of 9.99
  EXPECT_NE(r.out.find(" s; checked"), std::string::npos) << "says how long it took: " << r.out;

  auto pg = open_pg_store({url, "", false});
  ASSERT_TRUE(pg.store) << pg.error;
  Store& s = *pg.store;
  auto after = s.orders().list({std::nullopt, std::nullopt, 100});
  ASSERT_EQ(after.size(), before.size());
  std::vector<OrderEventRow> events_after;
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].order_id, before[i].order_id);
    EXPECT_EQ(after[i].state, before[i].state);
    EXPECT_EQ(after[i].pay_time, before[i].pay_time);
    EXPECT_EQ(after[i].trade_no, before[i].trade_no);
    auto ev = s.orders().events(after[i].order_id);
    events_after.insert(events_after.end(), ev.begin(), ev.end());
  }
  ASSERT_EQ(events_after.size(), events_before.size());
  for (std::size_t i = 0; i < events_after.size(); ++i) {
    EXPECT_EQ(events_after[i].from, events_before[i].from);
    EXPECT_EQ(events_after[i].to, events_before[i].to);
    EXPECT_EQ(events_after[i].detail, events_before[i].detail);
  }
  EXPECT_EQ(s.refunds().get(core::order_id_from(3))->quota_revoked, 50);
  EXPECT_EQ(s.accounts().get("vip")->surplus_quota, 6);
  EXPECT_EQ(s.products().get(1001)->price, core::Fen{999});
  EXPECT_EQ(s.notifies().get("N1")->raw_body, "a=b");
  EXPECT_EQ(s.words().list(), (std::vector<std::string>{"bad", "worse"}));
  EXPECT_EQ(s.whitelist().list(), std::vector<std::string>{"vip"});
  EXPECT_GT(s.words().version(), 0) << "the change stamps came along";
  EXPECT_EQ(s.jobs().history("reconcile", 10).size(), 1u);
  const UsageQuery all{UtcMs{0}, "", UsageGrouping::User, 10};
  auto usage_rows = s.chat_log().usage(all);
  ASSERT_EQ(usage_rows.size(), 1u);
  EXPECT_EQ(usage_rows[0].chats, 3);
  expect_every_sequence_past_its_rows(url);
  s.chat_log().append(
      {"user2", "glm-4", "openai", kT0, std::nullopt, 50, std::nullopt, std::nullopt, "cancelled"});
  EXPECT_EQ(s.chat_log().usage(all).size(), 2u) << "a row after the copy gets a fresh id";
  // New rows continue after the copied ids.
  ASSERT_TRUE(s.orders().insert(order(99, "new"), kT0));
  EXPECT_GT(s.orders().get(core::order_id_from(99))->id, before.front().id);

  auto again =
      testing::run_command({CHATGLMD_BIN, "store", "copy", "--from", "sqlite:" + db, "--to", url});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already holds data"), std::string::npos) << again.err;
  EXPECT_EQ(s.orders().list({std::nullopt, std::nullopt, 100}).size(), before.size() + 1)
      << "the refused copy wrote nothing";

  auto usage = testing::run_command({CHATGLMD_BIN, "store", "copy", "--from", db, "--to", url});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;
}

}  // namespace
}  // namespace chatglmd::store
