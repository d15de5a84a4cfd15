// The usage log and the dashboard's sums over SQLite.
#include "core/usage.hpp"
#include "store/sqlite_repos.hpp"

namespace chatglmd::store {
namespace {

// The Beijing day of a column as a day number, the same rule as core::beijing_day_number for
// times after 1970.
#define CHATGLMD_BEIJING_DAY(col) "((" col " + 28800000) / 86400000)"

const std::string kUsageByDay =
    "SELECT " CHATGLMD_BEIJING_DAY("started_at") " AS day, '', COUNT(*), "
    "SUM(outcome = 'ok'), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) "
    "FROM chat_log WHERE started_at >= ?1 AND (?2 = '' OR openid = ?2) "
    "GROUP BY day ORDER BY day LIMIT ?3";
const std::string kUsageByDayModel =
    "SELECT " CHATGLMD_BEIJING_DAY("started_at") " AS day, model, COUNT(*), "
    "SUM(outcome = 'ok'), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) "
    "FROM chat_log WHERE started_at >= ?1 AND (?2 = '' OR openid = ?2) "
    "GROUP BY day, model ORDER BY day, model LIMIT ?3";
const std::string kUsageByModel =
    "SELECT model, '', COUNT(*), SUM(outcome = 'ok'), COALESCE(SUM(prompt_tokens), 0), "
    "COALESCE(SUM(completion_tokens), 0) "
    "FROM chat_log WHERE started_at >= ?1 AND (?2 = '' OR openid = ?2) "
    "GROUP BY model ORDER BY model LIMIT ?3";
const std::string kUsageByUser =
    "SELECT openid, '', COUNT(*) AS chats, SUM(outcome = 'ok'), COALESCE(SUM(prompt_tokens), 0), "
    "COALESCE(SUM(completion_tokens), 0) "
    "FROM chat_log WHERE started_at >= ?1 AND (?2 = '' OR openid = ?2) "
    "GROUP BY openid ORDER BY chats DESC, openid LIMIT ?3";

}  // namespace

void SqliteChatLog::append(const ChatLogEntry& e) {
  std::lock_guard lock(db_.mutex());
  db_.prepare(
         "INSERT INTO chat_log (openid, model, endpoint, started_at, ttft_ms, duration_ms, "
         "prompt_tokens, completion_tokens, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
      .bind(1, e.openid)
      .bind(2, e.model)
      .bind(3, e.endpoint)
      .bind(4, e.started_at.ms)
      .bind(5, e.ttft_ms)
      .bind(6, e.duration_ms)
      .bind(7, e.prompt_tokens)
      .bind(8, e.completion_tokens)
      .bind(9, e.outcome)
      .exec();
}

std::vector<UsageRow> SqliteChatLog::usage(const UsageQuery& q) {
  const std::string* sql = &kUsageByDay;
  if (q.by == UsageGrouping::Model) sql = &kUsageByModel;
  if (q.by == UsageGrouping::User) sql = &kUsageByUser;
  if (q.by == UsageGrouping::DayModel) sql = &kUsageByDayModel;
  const bool by_day = q.by == UsageGrouping::Day || q.by == UsageGrouping::DayModel;
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(*sql);
  st.bind(1, q.since.ms).bind(2, q.openid).bind(3, q.limit);
  std::vector<UsageRow> out;
  while (st.step()) {
    UsageRow r;
    r.key = by_day ? core::day_key(st.int64(0)) : st.text(0);
    r.model = st.text(1);
    r.chats = st.int64(2);
    r.answered = st.int64(3);
    r.prompt_tokens = st.int64(4);
    r.completion_tokens = st.int64(5);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::int64_t> SqliteChatLog::first_token_times(core::UtcMs since, int limit) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "SELECT ttft_ms FROM (SELECT ttft_ms FROM chat_log WHERE started_at >= ?1 AND outcome = "
      "'ok' AND ttft_ms IS NOT NULL ORDER BY started_at DESC LIMIT ?2) ORDER BY ttft_ms");
  st.bind(1, since.ms).bind(2, limit);
  std::vector<std::int64_t> out;
  while (st.step()) out.push_back(st.int64(0));
  return out;
}

std::int64_t SqliteChatLog::prune(core::UtcMs before, int limit) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  const auto removed = db_.prepare(
                              "DELETE FROM chat_log WHERE id IN (SELECT id FROM chat_log WHERE "
                              "started_at < ?1 ORDER BY started_at LIMIT ?2)")
                           .bind(1, before.ms)
                           .bind(2, limit)
                           .exec();
  tx.commit();
  return removed;
}

OrderRepository::Backlog SqliteChatLog::backlog(core::UtcMs before) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare("SELECT COUNT(*), MIN(started_at) FROM chat_log WHERE started_at < ?1");
  st.bind(1, before.ms);
  st.step();
  OrderRepository::Backlog b{st.int64(0), std::nullopt};
  if (!st.is_null(1)) b.oldest = core::UtcMs{st.int64(1)};
  return b;
}

std::vector<DayAmount> SqliteReports::paid_by_day(core::UtcMs since) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare("SELECT " CHATGLMD_BEIJING_DAY(
      "pay_time") " AS day, COUNT(*), SUM(total_amount_fen) FROM openai_order "
                  "WHERE pay_time IS NOT NULL AND pay_time >= ?1 AND order_status <> 4 "
                  "GROUP BY day ORDER BY day");
  st.bind(1, since.ms);
  std::vector<DayAmount> out;
  while (st.step())
    out.push_back({core::day_key(st.int64(0)), st.int64(1), core::Fen{st.int64(2)}});
  return out;
}

OrderFunnel SqliteReports::funnel(core::UtcMs since) {
  std::lock_guard lock(db_.mutex());
  ReadTransaction tx(db_);  // one snapshot: the steps add up
  OrderFunnel f;
  {
    auto st = db_.prepare(
        "SELECT COUNT(*), COALESCE(SUM(pay_time IS NOT NULL), 0), "
        "COALESCE(SUM(order_status = 2), 0), COALESCE(SUM(order_status = 3), 0), "
        "COALESCE(SUM(order_status = 4), 0) FROM openai_order WHERE order_time >= ?1");
    st.bind(1, since.ms);
    st.step();
    f.created = st.int64(0);
    f.paid = st.int64(1);
    f.delivered = st.int64(2);
    f.closed = st.int64(3);
    f.refunded = st.int64(4);
  }
  {
    auto st = db_.prepare(
        "SELECT COUNT(DISTINCT e.order_id) FROM order_event e JOIN openai_order o ON o.order_id = "
        "e.order_id WHERE e.from_status = 3 AND e.to_status = 1 AND o.order_time >= ?1");
    st.bind(1, since.ms);
    st.step();
    f.late_payments = st.int64(0);
  }
  {
    auto st = db_.prepare(
        "SELECT COUNT(*) FROM refund r JOIN openai_order o ON o.order_id = r.order_id "
        "WHERE o.order_time >= ?1");
    st.bind(1, since.ms);
    st.step();
    f.refunds_requested = st.int64(0);
  }
  return f;
}

std::vector<NotifyRecord> SqliteReports::rejected_notifies(int limit) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "SELECT notify_id, out_trade_no, trade_status, verdict, received_at FROM pay_notify "
      "WHERE verdict <> 'ok' ORDER BY received_at DESC, id DESC LIMIT ?1");
  st.bind(1, limit);
  std::vector<NotifyRecord> out;
  while (st.step())
    out.push_back({st.text(0), st.text(1), st.text(2), st.text(3), "", core::UtcMs{st.int64(4)}});
  return out;
}

}  // namespace chatglmd::store
