#pragma once
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job.hpp"

namespace chatglmd::jobs {

// Every job, listed once, explicitly (registry.cpp). Adding a job: one file plus one line there.
std::vector<std::unique_ptr<Job>> make_jobs();
// Every registered job's default settings by name: the [jobs.<name>] sections config accepts.
std::map<std::string, JobSettings> default_settings();
Job* find_job(const std::vector<std::unique_ptr<Job>>& jobs, std::string_view name);

}  // namespace chatglmd::jobs
