#include "app/info_metrics.hpp"

#include "app/version.hpp"
#include "metrics/build_info.hpp"

namespace chatglmd::app {

void register_info_metrics(metrics::Registry& registry, const Config& config) {
  metrics::register_build_info(registry, version(), build_id());
  auto& after = registry.gauge(
      "chatglmd_job_due_after_seconds",
      "Age at which an order becomes due for the job ([jobs.<name>] after)", {"job"});
  for (const auto& [job, settings] : config.jobs)
    after.labels({job}).set(static_cast<double>(settings.after.count()) / 1000.0);
}

}  // namespace chatglmd::app
