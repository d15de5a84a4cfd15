// Counters several nodes share (schema/postgresql/005_shared_counters.sql).
#include "store/pg_repos.hpp"

namespace chatglmd::store {

bool PgSharedCounters::take(const std::string& name, const std::string& key, core::UtcMs now,
                            core::Millis window, int limit) {
  if (limit <= 0) return false;
  std::lock_guard lock(db_.mutex());
  // One statement: the row lock of ON CONFLICT makes two nodes counting the same key queue, and
  // the WHERE leaves the row alone (no row counted) when the window is full.
  return db_.prepare(
                "INSERT INTO shared_counter (name, key, window_start, count) "
                "VALUES ($1, $2, $3, 1) ON CONFLICT (name, key) DO UPDATE SET "
                "window_start = CASE WHEN shared_counter.window_start + $4 <= $3 THEN $3 "
                "ELSE shared_counter.window_start END, "
                "count = CASE WHEN shared_counter.window_start + $4 <= $3 THEN 1 "
                "ELSE shared_counter.count + 1 END "
                "WHERE shared_counter.window_start + $4 <= $3 OR shared_counter.count < $5")
             .bind(1, name)
             .bind(2, key)
             .bind(3, now.ms)
             .bind(4, static_cast<std::int64_t>(window.count()))
             .bind(5, limit)
             .exec() == 1;
}

void PgSharedCounters::give_back(const std::string& name, const std::string& key) {
  std::lock_guard lock(db_.mutex());
  db_.prepare(
         "UPDATE shared_counter SET count = count - 1 WHERE name = $1 AND key = $2 AND count > 0")
      .bind(1, name)
      .bind(2, key)
      .exec();
}

}  // namespace chatglmd::store
