#pragma once
#include <string>

#include "jobs/job.hpp"

namespace chatglmd::jobs {

struct TickOptions {
  std::string owner;  // who holds the lease: host:pid:role, unique per process
  int limit = 0;      // handle at most this many orders (0: no limit)
};

struct TickReport {
  bool lease_held_elsewhere = false;
  int selected = 0;
  int done = 0;
  int unclear = 0;
  int skipped = 0;
  core::UtcMs started_at;
  core::UtcMs finished_at;
  bool failed = false;  // a store error ended the tick early: due orders may be left unseen
  std::string error;    // that store error
  std::string outcome;  // ok, partial, failed, skipped
  // 0 all decided, 1 some order left unclear or the tick failed, 75 lease held elsewhere
  // (EX_TEMPFAIL)
  int exit_code() const { return lease_held_elsewhere ? 75 : (unclear > 0 || failed ? 1 : 0); }
};

// One tick: lease, batches until nothing is due or the budget ends, bounded concurrency,
// backoff for unclear items, a job_run row and metrics.
TickReport run_tick(Job& job, JobContext& ctx, const TickOptions& options);

}  // namespace chatglmd::jobs
