#include "jobs/registry.hpp"

#include "jobs/chat_log_prune_job.hpp"
#include "jobs/close_followup_job.hpp"
#include "jobs/reconcile_job.hpp"
#include "jobs/refund_query_job.hpp"
#include "jobs/replenish_shipment_job.hpp"
#include "jobs/timeout_close_job.hpp"

namespace chatglmd::jobs {

std::vector<std::unique_ptr<Job>> make_jobs() {
  std::vector<std::unique_ptr<Job>> jobs;
  jobs.push_back(std::make_unique<TimeoutCloseJob>());
  jobs.push_back(std::make_unique<ReplenishShipmentJob>());
  jobs.push_back(std::make_unique<ReconcileJob>());
  jobs.push_back(std::make_unique<CloseFollowupJob>());
  jobs.push_back(std::make_unique<RefundQueryJob>());
  jobs.push_back(std::make_unique<ChatLogPruneJob>());
  return jobs;
}

std::map<std::string, JobSettings> default_settings() {
  std::map<std::string, JobSettings> out;
  for (const auto& j : make_jobs()) out[std::string(j->name())] = j->defaults();
  return out;
}

Job* find_job(const std::vector<std::unique_ptr<Job>>& jobs, std::string_view name) {
  for (const auto& j : jobs) {
    if (j->name() == name) return j.get();
  }
  return nullptr;
}

}  // namespace chatglmd::jobs
