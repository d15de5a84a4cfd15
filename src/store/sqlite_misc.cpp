// Logins, sensitive words, the whitelist and raw payment notifications.
#include "store/sqlite_repos.hpp"

namespace chatglmd::store {

// An upsert, so a stamp added after 001 (openai_product) needs no migration of its own.
void bump_change_stamp(Db& db, const char* name) {
  db.prepare(
        "INSERT INTO change_stamp (name, version) VALUES (?1, 1) "
        "ON CONFLICT (name) DO UPDATE SET version = version + 1")
      .bind(1, name)
      .exec();
}

std::int64_t read_change_stamp(Db& db, const char* name) {
  auto st = db.prepare("SELECT version FROM change_stamp WHERE name = ?1");
  st.bind(1, name);
  return st.step() ? st.int64(0) : 0;
}

bool SqliteLogins::save(const std::string& code, const std::string& openid, core::UtcMs expires_at,
                        core::UtcMs now) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  auto live =
      db_.prepare("SELECT openid FROM login_code WHERE code = ?1 AND expires_at > ?2 AND used = 0");
  live.bind(1, code).bind(2, now.ms);
  if (live.step() && live.text(0) != openid) return false;
  // One live code per user: a new message replaces the old code.
  db_.prepare("DELETE FROM login_code WHERE openid = ?1 OR expires_at <= ?2 OR code = ?3")
      .bind(1, openid)
      .bind(2, now.ms)
      .bind(3, code)
      .exec();
  db_.prepare("INSERT INTO login_code (code, openid, expires_at) VALUES (?1, ?2, ?3)")
      .bind(1, code)
      .bind(2, openid)
      .bind(3, expires_at.ms)
      .exec();
  tx.commit();
  return true;
}

std::optional<std::string> SqliteLogins::redeem(const std::string& code, core::UtcMs now) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  auto st =
      db_.prepare("SELECT openid FROM login_code WHERE code = ?1 AND expires_at > ?2 AND used = 0");
  st.bind(1, code).bind(2, now.ms);
  if (!st.step()) return std::nullopt;
  std::string openid = st.text(0);
  db_.prepare("UPDATE login_code SET used = 1 WHERE code = ?1").bind(1, code).exec();
  tx.commit();
  return openid;
}

int SqliteWords::add(const std::vector<std::string>& words, core::UtcMs now) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  int added = 0;
  for (const auto& w : words) {
    if (w.empty()) continue;
    added += db_.prepare("INSERT OR IGNORE INTO sensitive_word (word, created_at) VALUES (?1, ?2)")
                 .bind(1, w)
                 .bind(2, now.ms)
                 .exec();
  }
  if (added > 0) bump_change_stamp(db_, "sensitive_word");
  tx.commit();
  return added;
}

bool SqliteWords::remove(const std::string& word) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  bool removed =
      db_.prepare("DELETE FROM sensitive_word WHERE word = ?1").bind(1, word).exec() == 1;
  if (removed) bump_change_stamp(db_, "sensitive_word");
  tx.commit();
  return removed;
}

std::vector<std::string> SqliteWords::list() {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare("SELECT word FROM sensitive_word ORDER BY id");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::int64_t SqliteWords::version() {
  std::lock_guard lock(db_.mutex());
  return read_change_stamp(db_, "sensitive_word");
}

VersionedList SqliteWords::snapshot() {
  std::lock_guard lock(db_.mutex());
  ReadTransaction tx(db_);
  VersionedList out;
  out.version = read_change_stamp(db_, "sensitive_word");
  out.items = list();
  return out;
}

bool SqliteWhitelist::add(const std::string& openid, core::UtcMs now) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  bool added =
      db_.prepare("INSERT OR IGNORE INTO user_whitelist (openid, created_at) VALUES (?1, ?2)")
          .bind(1, openid)
          .bind(2, now.ms)
          .exec() == 1;
  if (added) bump_change_stamp(db_, "user_whitelist");
  tx.commit();
  return added;
}

bool SqliteWhitelist::remove(const std::string& openid) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  bool removed =
      db_.prepare("DELETE FROM user_whitelist WHERE openid = ?1").bind(1, openid).exec() == 1;
  if (removed) bump_change_stamp(db_, "user_whitelist");
  tx.commit();
  return removed;
}

std::vector<std::string> SqliteWhitelist::list() {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare("SELECT openid FROM user_whitelist ORDER BY openid");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::int64_t SqliteWhitelist::version() {
  std::lock_guard lock(db_.mutex());
  return read_change_stamp(db_, "user_whitelist");
}

VersionedList SqliteWhitelist::snapshot() {
  std::lock_guard lock(db_.mutex());
  ReadTransaction tx(db_);
  VersionedList out;
  out.version = read_change_stamp(db_, "user_whitelist");
  out.items = list();
  return out;
}

NotifySaveOutcome SqliteNotifies::save(const NotifyRecord& r) {
  std::lock_guard lock(db_.mutex());
  // Alipay re-sends a notify with the same notify_id until it hears `success`: keep the first
  // body, count the repeats. Insert first and count only a repeat: the usual notify is new, and
  // an upsert with RETURNING costs SQLite an ephemeral table per statement.
  const int inserted =
      db_.prepare(
             "INSERT INTO pay_notify (notify_id, out_trade_no, trade_status, verdict, raw_body, "
             "received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (notify_id) DO NOTHING")
          .bind(1, r.notify_id)
          .bind(2, r.out_trade_no)
          .bind(3, r.trade_status)
          .bind(4, r.verdict)
          .bind(5, r.raw_body)
          .bind(6, r.received_at.ms)
          .exec();
  if (inserted == 1) return NotifySaveOutcome::Inserted;
  db_.prepare("UPDATE pay_notify SET times_seen = times_seen + 1 WHERE notify_id = ?1")
      .bind(1, r.notify_id)
      .exec();
  return NotifySaveOutcome::Duplicate;
}

std::optional<NotifyRecord> SqliteNotifies::get(const std::string& notify_id) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "SELECT notify_id, out_trade_no, trade_status, verdict, raw_body, received_at FROM "
      "pay_notify "
      "WHERE notify_id = ?1");
  st.bind(1, notify_id);
  if (!st.step()) return std::nullopt;
  return NotifyRecord{st.text(0), st.text(1), st.text(2),
                      st.text(3), st.text(4), core::UtcMs{st.int64(5)}};
}

std::int64_t SqliteNotifies::count() {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare("SELECT count(*) FROM pay_notify");
  st.step();
  return st.int64(0);
}

}  // namespace chatglmd::store
