#pragma once
// Series that describe the running daemon rather than count events: the build, and each job's
// threshold, which alert rules compare the job's oldest due order against.
#include "app/config.hpp"
#include "metrics/metrics.hpp"

namespace chatglmd::app {

void register_info_metrics(metrics::Registry& registry, const Config& config);

}  // namespace chatglmd::app
