// Counters several nodes share (schema/postgresql/005_shared_counters.sql).
#include "store/pg_repos.hpp"

namespace chatglmd::store {

std::optional<core::UtcMs> PgSharedCounters::take_counted(const std::string& name,
                                                          const std::string& key, core::UtcMs now,
                                                          core::Millis window, int limit) {
  if (limit <= 0) return std::nullopt;
  std::lock_guard lock(db_.mutex());
  // Ended windows count nothing: every so often they go, so one row per WeChat nonce or client
  // address does not pile up.
  if (++takes_ % kSweepEvery == 0)
    db_.prepare("DELETE FROM shared_counter WHERE expires_at <= $1").bind(1, now.ms).exec();
  // One statement: the row lock of ON CONFLICT makes two nodes counting the same key queue, and
  // the WHERE leaves the row alone (no row counted, none returned) when the window is full.
  auto counted = db_.prepare(
      "INSERT INTO shared_counter (name, key, window_start, count, expires_at) "
      "VALUES ($1, $2, $3::bigint, 1, $3::bigint + $4::bigint) ON CONFLICT (name, key) "
      "DO UPDATE SET "
      "window_start = CASE WHEN shared_counter.window_start + $4 <= $3 THEN $3 "
      "ELSE shared_counter.window_start END, "
      "expires_at = CASE WHEN shared_counter.window_start + $4 <= $3 THEN $3 + $4 "
      "ELSE shared_counter.expires_at END, "
      "count = CASE WHEN shared_counter.window_start + $4 <= $3 THEN 1 "
      "ELSE shared_counter.count + 1 END "
      "WHERE shared_counter.window_start + $4 <= $3 OR shared_counter.count < $5 "
      "RETURNING window_start");
  counted.bind(1, name)
      .bind(2, key)
      .bind(3, now.ms)
      .bind(4, static_cast<std::int64_t>(window.count()))
      .bind(5, limit);
  if (!counted.step()) return std::nullopt;
  return core::UtcMs{counted.int64(0)};
}

void PgSharedCounters::give_back(const std::string& name, const std::string& key,
                                 core::UtcMs window_start) {
  std::lock_guard lock(db_.mutex());
  // Only the window that counted it: a row's window restarts at least a window after its start,
  // so a later one never has the same start, whatever the nodes' clocks say. A row swept away
  // and inserted again by a take whose `now` is the old start to the millisecond is the one
  // case that could match: a count back from the new window, never one lost.
  db_.prepare(
         "UPDATE shared_counter SET count = count - 1 "
         "WHERE name = $1 AND key = $2 AND count > 0 AND window_start = $3")
      .bind(1, name)
      .bind(2, key)
      .bind(3, window_start.ms)
      .exec();
}

}  // namespace chatglmd::store
