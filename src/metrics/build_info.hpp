#pragma once
// chatglmd_build_info{version,build} 1: the Prometheus convention for telling which build runs
// (join it on `instance` to label other series, or alert when two builds serve at once).
#include <string_view>

#include "metrics/metrics.hpp"

namespace chatglmd::metrics {

void register_build_info(Registry& registry, std::string_view version, std::string_view build);

}  // namespace chatglmd::metrics
