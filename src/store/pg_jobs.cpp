#include <set>

#include "store/pg_repos.hpp"
#include "store/row_readers.hpp"

namespace chatglmd::store {
using rows::read_run;
namespace {

// Claims are job_lease rows named "<job>/<item>", so a claim and the job's lease share one
// table and one rule (free, expired or already ours); their times come from the database's
// clock, never a node's, so nodes with skewed clocks agree on when a claim ran out.
#define CHATGLMD_PG_DB_NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

// A text[] literal: every element quoted, so no item can split or end the array.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += i ? ",\"" : "\"";
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

std::vector<std::string> PgJobs::claim(const std::string& job, const std::string& owner,
                                       const std::vector<std::string>& items, core::Millis ttl) {
  // One row per item in one statement (ON CONFLICT may touch a row only once per statement).
  const std::set<std::string> unique(items.begin(), items.end());
  if (unique.empty()) return {};
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "INSERT INTO job_lease (name, owner, expires_at) "
      "SELECT $1 || '/' || item, $2, " CHATGLMD_PG_DB_NOW_MS
      " + $4 FROM unnest($3::text[]) AS item "
      "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
      "WHERE job_lease.owner = excluded.owner OR job_lease.expires_at <= " CHATGLMD_PG_DB_NOW_MS
      " RETURNING substr(name, length($1) + 2)");
  st.bind(1, job)
      .bind(2, owner)
      .bind(3, text_array({unique.begin(), unique.end()}))
      .bind(4, static_cast<std::int64_t>(ttl.count()));
  std::set<std::string> held;
  while (st.step()) held.insert(st.text(0));
  std::vector<std::string> out;
  for (const auto& item : items)  // in the caller's order
    if (held.count(item) != 0) out.push_back(item);
  return out;
}

bool PgJobs::renew_claim(const std::string& job, const std::string& owner, const std::string& item,
                         core::Millis ttl) {
  std::lock_guard lock(db_.mutex());
  // Never takes the item afresh: a lapsed claim is not the caller's any more, even when no row
  // names another owner (that owner may have finished with it and deleted its row).
  return db_.prepare("UPDATE job_lease SET expires_at = " CHATGLMD_PG_DB_NOW_MS
                     " + $4 WHERE name = $1 || '/' || $2 AND owner = $3 AND expires_at "
                     "> " CHATGLMD_PG_DB_NOW_MS)
             .bind(1, job)
             .bind(2, item)
             .bind(3, owner)
             .bind(4, static_cast<std::int64_t>(ttl.count()))
             .exec() == 1;
}

void PgJobs::release_claims(const std::string& job, const std::string& owner,
                            const std::string& item) {
  std::lock_guard lock(db_.mutex());
  if (!item.empty()) {
    db_.prepare("DELETE FROM job_lease WHERE name = $1 || '/' || $2 AND owner = $3")
        .bind(1, job)
        .bind(2, item)
        .bind(3, owner)
        .exec();
    return;
  }
  db_.prepare("DELETE FROM job_lease WHERE left(name, length($1) + 1) = $1 || '/' AND owner = $2")
      .bind(1, job)
      .bind(2, owner)
      .exec();
}

bool PgJobs::try_acquire(const std::string& name, const std::string& owner, core::UtcMs now,
                         core::UtcMs expires_at) {
  std::lock_guard lock(db_.mutex());
  // One statement: insert, or take over only when the lease is ours or has expired.
  return db_.prepare(
                "INSERT INTO job_lease (name, owner, expires_at) VALUES ($1, $2, $4) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                "expires_at = excluded.expires_at "
                "WHERE job_lease.owner = excluded.owner OR job_lease.expires_at <= $3")
             .bind(1, name)
             .bind(2, owner)
             .bind(3, now.ms)
             .bind(4, expires_at.ms)
             .exec() == 1;
}

void PgJobs::release(const std::string& name, const std::string& owner) {
  std::lock_guard lock(db_.mutex());
  db_.prepare("DELETE FROM job_lease WHERE name = $1 AND owner = $2")
      .bind(1, name)
      .bind(2, owner)
      .exec();
}

std::int64_t PgJobs::record_run(const JobRunRow& r) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(
      "INSERT INTO job_run (name, owner, started_at, finished_at, outcome, selected, succeeded, "
      "failed, skipped, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id");
  st.bind(1, r.name)
      .bind(2, r.owner)
      .bind(3, r.started_at.ms)
      .bind(4, r.finished_at.ms)
      .bind(5, r.outcome)
      .bind(6, r.selected)
      .bind(7, r.succeeded)
      .bind(8, r.failed)
      .bind(9, r.skipped)
      .bind(10, r.detail);
  return st.step() ? st.int64(0) : 0;
}

namespace {
constexpr const char* kRunColumns =
    "SELECT id, name, owner, started_at, finished_at, outcome, selected, succeeded, failed, "
    "skipped, detail FROM job_run ";
}  // namespace

std::vector<JobRunRow> PgJobs::history(const std::string& name, int limit) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(std::string(kRunColumns) +
                        "WHERE ($1::text = '' OR name = $1::text) ORDER BY id DESC LIMIT $2");
  st.bind(1, name).bind(2, limit);
  std::vector<JobRunRow> out;
  while (st.step()) out.push_back(read_run(st));
  return out;
}

std::optional<JobRunRow> PgJobs::last_run(const std::string& name) {
  auto runs = history(name, 1);
  if (runs.empty()) return std::nullopt;
  return runs.front();
}

}  // namespace chatglmd::store
