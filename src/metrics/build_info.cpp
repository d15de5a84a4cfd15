#include "metrics/build_info.hpp"

namespace chatglmd::metrics {

void register_build_info(Registry& registry, std::string_view version, std::string_view build) {
  registry
      .gauge("chatglmd_build_info", "The running build: version and git describe, always 1",
             {"version", "build"})
      .labels({version, build})
      .set(1);
}

}  // namespace chatglmd::metrics
