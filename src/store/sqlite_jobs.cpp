#include "store/row_readers.hpp"
#include "store/sqlite_repos.hpp"

namespace chatglmd::store {
using rows::read_run;

bool SqliteJobs::try_acquire(const std::string& name, const std::string& owner, core::UtcMs now,
                             core::UtcMs expires_at) {
  std::lock_guard lock(db_.mutex());
  // One statement: insert, or take over only when the lease is ours or has expired.
  return db_.prepare(
                "INSERT INTO job_lease (name, owner, expires_at) VALUES (?1, ?2, ?4) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                "expires_at = excluded.expires_at "
                "WHERE job_lease.owner = excluded.owner OR job_lease.expires_at <= ?3")
             .bind(1, name)
             .bind(2, owner)
             .bind(3, now.ms)
             .bind(4, expires_at.ms)
             .exec() == 1;
}

void SqliteJobs::release(const std::string& name, const std::string& owner) {
  std::lock_guard lock(db_.mutex());
  db_.prepare("DELETE FROM job_lease WHERE name = ?1 AND owner = ?2")
      .bind(1, name)
      .bind(2, owner)
      .exec();
}

std::int64_t SqliteJobs::record_run(const JobRunRow& r) {
  std::lock_guard lock(db_.mutex());
  db_.prepare(
         "INSERT INTO job_run (name, owner, started_at, finished_at, outcome, selected, succeeded, "
         "failed, skipped, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
      .bind(1, r.name)
      .bind(2, r.owner)
      .bind(3, r.started_at.ms)
      .bind(4, r.finished_at.ms)
      .bind(5, r.outcome)
      .bind(6, r.selected)
      .bind(7, r.succeeded)
      .bind(8, r.failed)
      .bind(9, r.skipped)
      .bind(10, r.detail)
      .exec();
  return db_.last_insert_id();
}

namespace {
constexpr const char* kRunColumns =
    "SELECT id, name, owner, started_at, finished_at, outcome, selected, succeeded, failed, "
    "skipped, detail FROM job_run ";
}  // namespace

std::vector<JobRunRow> SqliteJobs::history(const std::string& name, int limit) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(std::string(kRunColumns) +
                        "WHERE (?1 = '' OR name = ?1) ORDER BY id DESC LIMIT ?2");
  st.bind(1, name).bind(2, limit);
  std::vector<JobRunRow> out;
  while (st.step()) out.push_back(read_run(st));
  return out;
}

std::optional<JobRunRow> SqliteJobs::last_run(const std::string& name) {
  auto runs = history(name, 1);
  if (runs.empty()) return std::nullopt;
  return runs.front();
}

}  // namespace chatglmd::store
