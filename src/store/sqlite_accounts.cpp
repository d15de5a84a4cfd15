#include <string_view>

#include "store/sqlite_repos.hpp"

namespace chatglmd::store {

namespace {

// Calls fn for each non-empty item of a comma-separated list, in order.
template <typename Fn>
void for_each_model(std::string_view list, Fn fn) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    if (!item.empty()) fn(item);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
}

bool lists_model(std::string_view list, std::string_view model) {
  bool found = false;
  for_each_model(list, [&](std::string_view item) { found |= item == model; });
  return found;
}

}  // namespace

// Every grant on the committer thread merges an account's models: a scan of the joined text
// (a handful of short names) instead of a stringstream and a set, which cost a dozen
// allocations per payment.
std::string merge_models(const std::string& have, const std::string& add) {
  std::string joined;
  joined.reserve(have.size() + add.size() + 1);
  for (const std::string* list : {&have, &add}) {
    for_each_model(*list, [&](std::string_view item) {
      if (lists_model(joined, item)) return;
      if (!joined.empty()) joined += ',';
      joined += item;
    });
  }
  return joined;
}

void grant_locked(Db& db, const std::string& openid, std::int64_t quota, const std::string& models,
                  std::int64_t now_ms) {
  auto st = db.prepare("SELECT model_types FROM user_account WHERE openid = ?1");
  st.bind(1, openid);
  if (st.step()) {
    const std::string have = st.text(0);
    std::string merged = merge_models(have, models);
    // The front keeps an account's models in memory (AccountRepository::version).
    if (merged != have) bump_change_stamp(db, "user_account");
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
