// Logins, sensitive words, the whitelist and raw payment notifications.
#include "store/pg_repos.hpp"

namespace chatglmd::store {

void bump_change_stamp(PgConn& db, const char* name) {
  // An upsert, so a stamp added after 001 (openai_product) needs no migration of its own.
  db.prepare(
        "INSERT INTO change_stamp (name, version) VALUES ($1, 1) "
        "ON CONFLICT (name) DO UPDATE SET version = change_stamp.version + 1")
      .bind(1, name)
      .exec();
}

std::int64_t read_change_stamp(PgConn& db, const char* name) {
  auto st = db.prepare("SELECT version FROM change_stamp WHERE name = $1");
  st.bind(1, name);
  return st.step() ? st.int64(0) : 0;
}

bool PgLogins::save(const std::string& code, const std::string& openid, core::UtcMs expires_at,
                    core::UtcMs now) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  auto live = db_.prepare(
      "SELECT openid FROM login_code WHERE code = $1 AND expires_at > $2 AND used = 0 FOR UPDATE");
  live.bind(1, code).bind(2, now.ms);
  if (live.step() && live.text(0) != openid) return false;
  // One live code per user: a new message replaces the old code.
  db_.prepare("DELETE FROM login_code WHERE openid = $1 OR expires_at <= $2 OR code = $3")
      .bind(1, openid)
      .bind(2, now.ms)
      .bind(3, code)
      .exec();
  // Another node may have taken the same code a moment ago: its row wins.
  const int inserted = db_.prepare(
                              "INSERT INTO login_code (code, openid, expires_at) VALUES ($1, $2, "
                              "$3) ON CONFLICT (code) DO NOTHING")
                           .bind(1, code)
                           .bind(2, openid)
                           .bind(3, expires_at.ms)
                           .exec();
  tx.commit();
  return inserted == 1;
}

std::optional<std::string> PgLogins::redeem(const std::string& code, core::UtcMs now) {
  std::lock_guard lock(db_.mutex());
  // One statement: two nodes redeeming the same code at once cannot both get it.
  auto st = db_.prepare(
      "UPDATE login_code SET used = 1 WHERE code = $1 AND expires_at > $2 AND used = 0 "
      "RETURNING openid");
  st.bind(1, code).bind(2, now.ms);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

int PgWords::add(const std::vector<std::string>& words, core::UtcMs now) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  int added = 0;
  for (const auto& w : words) {
    if (w.empty()) continue;
    added += db_.prepare(
                    "INSERT INTO sensitive_word (word, created_at) VALUES ($1, $2) ON CONFLICT DO "
                    "NOTHING")
                 .bind(1, w)
                 .bind(2, now.ms)
                 .exec();
  }
  if (added > 0) bump_change_stamp(db_, "sensitive_word");
  tx.commit();
  return added;
}

bool PgWords::remove(const std::string& word) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  bool removed =
      db_.prepare("DELETE FROM sensitive_word WHERE word = $1").bind(1, word).exec() == 1;
  if (removed) bump_change_stamp(db_, "sensitive_word");
  tx.commit();
  return removed;
}

std::vector<std::string> PgWords::list() {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare("SELECT word FROM sensitive_word ORDER BY id");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::int64_t PgWords::version() {
  std::lock_guard lock(db_.mutex());
  return read_change_stamp(db_, "sensitive_word");
}

VersionedList PgWords::snapshot() {
  std::lock_guard lock(db_.mutex());
  PgReadTransaction tx(db_);
  VersionedList out;
  out.version = read_change_stamp(db_, "sensitive_word");
  out.items = list();
  return out;
}

bool PgWhitelist::add(const std::string& openid, core::UtcMs now) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  bool added = db_.prepare(
                      "INSERT INTO user_whitelist (openid, created_at) VALUES ($1, $2) ON CONFLICT "
                      "DO NOTHING")
                   .bind(1, openid)
                   .bind(2, now.ms)
                   .exec() == 1;
  if (added) bump_change_stamp(db_, "user_whitelist");
  tx.commit();
  return added;
}

bool PgWhitelist::remove(const std::string& openid) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  bool removed =
      db_.prepare("DELETE FROM user_whitelist WHERE openid = $1").bind(1, openid).exec() == 1;
  if (removed) bump_change_stamp(db_, "user_whitelist");
  tx.commit();
  return removed;
}

std::vector<std::string> PgWhitelist::list() {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare("SELECT openid FROM user_whitelist ORDER BY openid");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::int64_t PgWhitelist::version() {
  std::lock_guard lock(db_.mutex());
  return read_change_stamp(db_, "user_whitelist");
}

VersionedList PgWhitelist::snapshot() {
  std::lock_guard lock(db_.mutex());
  PgReadTransaction tx(db_);
  VersionedList out;
  out.version = read_change_stamp(db_, "user_whitelist");
  out.items = list();
  return out;
}

NotifySaveOutcome PgNotifies::save(const NotifyRecord& r) {
  std::lock_guard lock(db_.mutex());
  // Alipay re-sends a notify with the same notify_id until it hears `success`: keep the first
  // body, count the repeats.
  auto st = db_.prepare(
      "INSERT INTO pay_notify (notify_id, out_trade_no, trade_status, verdict, raw_body, "
      "received_at) VALUES ($1, $2, $3, $4, $5, $6) "
      "ON CONFLICT (notify_id) DO UPDATE SET times_seen = pay_notify.times_seen + 1 RETURNING "
      "times_seen");
  st.bind(1, r.notify_id)
      .bind(2, r.out_trade_no)
      .bind(3, r.trade_status)
      .bind(4, r.verdict)
      .bind(5, r.raw_body)
      .bind(6, r.received_at.ms);
  std::int64_t times_seen = st.step() ? st.int64(0) : 0;
  while (st.step()) {
  }
  return times_seen == 1 ? NotifySaveOutcome::Inserted : NotifySaveOutcome::Duplicate;
}

std::optional<NotifyRecord> PgNotifies::get(const std::string& notify_id) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "SELECT notify_id, out_trade_no, trade_status, verdict, raw_body, received_at FROM "
      "pay_notify "
      "WHERE notify_id = $1");
  st.bind(1, notify_id);
  if (!st.step()) return std::nullopt;
  return NotifyRecord{st.text(0), st.text(1), st.text(2),
                      st.text(3), st.text(4), core::UtcMs{st.int64(5)}};
}

std::int64_t PgNotifies::count() {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare("SELECT count(*) FROM pay_notify");
  st.step();
  return st.int64(0);
}

}  // namespace chatglmd::store
