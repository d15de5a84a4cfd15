#include <set>
#include <sstream>

#include "store/sqlite_repos.hpp"

namespace chatglmd::store {

std::string merge_models(const std::string& have, const std::string& add) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string* list : {&have, &add}) {
    std::stringstream in(*list);
    std::string item;
    while (std::getline(in, item, ',')) {
      if (!item.empty() && seen.insert(item).second) out.push_back(item);
    }
  }
  std::string joined;
  for (const auto& m : out) joined += (joined.empty() ? "" : ",") + m;
  return joined;
}

void grant_locked(Db& db, const std::string& openid, std::int64_t quota, const std::string& models,
                  std::int64_t now_ms) {
  auto st = db.prepare("SELECT model_types FROM user_account WHERE openid = ?1");
  st.bind(1, openid);
  if (st.step()) {
    std::string merged = merge_models(st.text(0), models);
    // The front keeps an account's models in memory (AccountRepository::version).
    if (merged != st.text(0)) bump_change_stamp(db, "user_account");
    db.prepare(
          "UPDATE user_account SET total_quota = total_quota + ?2, surplus_quota = surplus_quota + "
          "?2, "
          "model_types = ?3, updated_at = ?4 WHERE openid = ?1")
        .bind(1, openid)
        .bind(2, quota)
        .bind(3, merged)
        .bind(4, now_ms)
        .exec();
  } else {
    db.prepare(
          "INSERT INTO user_account (openid, total_quota, surplus_quota, model_types, status, "
          "created_at, updated_at) VALUES (?1, ?2, ?2, ?3, 0, ?4, ?4)")
        .bind(1, openid)
        .bind(2, quota)
        .bind(3, merge_models("", models))
        .bind(4, now_ms)
        .exec();
  }
}

std::optional<Account> SqliteAccounts::get(const std::string& openid) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "SELECT openid, total_quota, surplus_quota, model_types, status FROM user_account "
      "WHERE openid = ?1");
  st.bind(1, openid);
  if (!st.step()) return std::nullopt;
  return Account{st.text(0), st.int64(1), st.int64(2), st.text(3),
                 static_cast<AccountStatus>(st.int64(4))};
}

bool SqliteAccounts::create(const Account& a) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  auto exists = db_.prepare("SELECT 1 FROM user_account WHERE openid = ?1");
  if (exists.bind(1, a.openid).step()) return false;
  db_.prepare(
         "INSERT INTO user_account (openid, total_quota, surplus_quota, model_types, status, "
         "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)")
      .bind(1, a.openid)
      .bind(2, a.total_quota)
      .bind(3, a.surplus_quota)
      .bind(4, merge_models("", a.model_types))
      .bind(5, static_cast<int>(a.status))
      .bind(6, wall_clock_ms())
      .exec();
  tx.commit();
  return true;
}

void SqliteAccounts::grant(const std::string& openid, std::int64_t quota,
                           const std::string& models) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  grant_locked(db_, openid, quota, models, wall_clock_ms());
  tx.commit();
}

bool SqliteAccounts::set_status(const std::string& openid, AccountStatus status) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  const bool changed =
      db_.prepare("UPDATE user_account SET status = ?2, updated_at = ?3 WHERE openid = ?1")
          .bind(1, openid)
          .bind(2, static_cast<int>(status))
          .bind(3, wall_clock_ms())
          .exec() == 1;
  // In the same transaction: a freeze reaches the front's memory with its commit.
  if (changed) bump_change_stamp(db_, "user_account");
  tx.commit();
  return changed;
}

std::optional<std::int64_t> SqliteAccounts::version() {
  std::lock_guard lock(db_.mutex());
  return read_change_stamp(db_, "user_account");
}

Charge SqliteAccounts::consume_one(const std::string& openid) {
  std::lock_guard lock(db_.mutex());
  const bool charged = db_.prepare(
                              "UPDATE user_account SET surplus_quota = surplus_quota - 1 "
                              "WHERE openid = ?1 AND surplus_quota > 0 AND status = ?2")
                           .bind(1, openid)
                           .bind(2, static_cast<int>(AccountStatus::Ok))
                           .exec() == 1;
  if (charged) return Charge::Charged;
  auto frozen = db_.prepare("SELECT 1 FROM user_account WHERE openid = ?1 AND status = ?2");
  frozen.bind(1, openid).bind(2, static_cast<int>(AccountStatus::Frozen));
  return frozen.step() ? Charge::Frozen : Charge::NothingLeft;
}

void SqliteAccounts::refund_one(const std::string& openid) {
  std::lock_guard lock(db_.mutex());
  db_.prepare(
         "UPDATE user_account SET surplus_quota = min(surplus_quota + 1, total_quota) "
         "WHERE openid = ?1")
      .bind(1, openid)
      .exec();
}

}  // namespace chatglmd::store
