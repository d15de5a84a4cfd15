// Accounts on PostgreSQL (merge_models is shared with sqlite_accounts.cpp).
#include "store/pg_repos.hpp"

namespace chatglmd::store {

void grant_locked(PgConn& db, const std::string& openid, std::int64_t quota,
                  const std::string& models, std::int64_t now_ms) {
  // Two deliveries for one new user may race to create the account: it is created empty, or
  // found, and locked in one statement (under READ COMMITTED an upsert that meets a row, even
  // one committed after this transaction began, updates it: locked, and its models returned);
  // then the quota and models are added.
  auto st = db.prepare(
      "INSERT INTO user_account (openid, total_quota, surplus_quota, model_types, status, "
      "created_at, updated_at) VALUES ($1, 0, 0, '', 0, $2, $2) "
      "ON CONFLICT (openid) DO UPDATE SET openid = EXCLUDED.openid RETURNING model_types");
  st.bind(1, openid).bind(2, now_ms);
  if (st.step()) {
    std::string merged = merge_models(st.text(0), models);
    db.prepare(
          "UPDATE user_account SET total_quota = total_quota + $2, surplus_quota = surplus_quota + "
          "$2, "
          "model_types = $3, updated_at = $4 WHERE openid = $1")
        .bind(1, openid)
        .bind(2, quota)
        .bind(3, merged)
        .bind(4, now_ms)
        .exec();
  } else {
    // The upsert returns the row it made or locked; without one, the caller's delivery must
    // roll back rather than commit an order delivered with nothing granted.
    throw StoreError("grant: no account row for " + openid, kPgErrorCode);
  }
}

std::optional<Account> PgAccounts::get(const std::string& openid) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "SELECT openid, total_quota, surplus_quota, model_types, status FROM user_account "
      "WHERE openid = $1");
  st.bind(1, openid);
  if (!st.step()) return std::nullopt;
  return Account{st.text(0), st.int64(1), st.int64(2), st.text(3),
                 static_cast<AccountStatus>(st.int64(4))};
}

bool PgAccounts::create(const Account& a) {
  std::lock_guard lock(db_.mutex());
  const int inserted =
      db_.prepare(
             "INSERT INTO user_account (openid, total_quota, surplus_quota, model_types, status, "
             "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) "
             "ON CONFLICT (openid) DO NOTHING")
          .bind(1, a.openid)
          .bind(2, a.total_quota)
          .bind(3, a.surplus_quota)
          .bind(4, merge_models("", a.model_types))
          .bind(5, static_cast<int>(a.status))
          .bind(6, wall_clock_ms())
          .exec();
  return inserted == 1;
}

void PgAccounts::grant(const std::string& openid, std::int64_t quota, const std::string& models) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  grant_locked(db_, openid, quota, models, wall_clock_ms());
  tx.commit();
}

bool PgAccounts::set_status(const std::string& openid, AccountStatus status) {
  std::lock_guard lock(db_.mutex());
  return db_.prepare("UPDATE user_account SET status = $2, updated_at = $3 WHERE openid = $1")
             .bind(1, openid)
             .bind(2, static_cast<int>(status))
             .bind(3, wall_clock_ms())
             .exec() == 1;
}

Charge PgAccounts::consume_one(const std::string& openid) {
  std::lock_guard lock(db_.mutex());
  const bool charged = db_.prepare(
                              "UPDATE user_account SET surplus_quota = surplus_quota - 1 "
                              "WHERE openid = $1 AND surplus_quota > 0 AND status = $2")
                           .bind(1, openid)
                           .bind(2, static_cast<int>(AccountStatus::Ok))
                           .exec() == 1;
  if (charged) return Charge::Charged;
  auto frozen = db_.prepare("SELECT 1 FROM user_account WHERE openid = $1 AND status = $2");
  frozen.bind(1, openid).bind(2, static_cast<int>(AccountStatus::Frozen));
  return frozen.step() ? Charge::Frozen : Charge::NothingLeft;
}

void PgAccounts::refund_one(const std::string& openid) {
  std::lock_guard lock(db_.mutex());
  db_.prepare(
         "UPDATE user_account SET surplus_quota = least(surplus_quota + 1, total_quota) "
         "WHERE openid = $1")
      .bind(1, openid)
      .exec();
}

}  // namespace chatglmd::store
