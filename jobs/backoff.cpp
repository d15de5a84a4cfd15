#include "jobs/backoff.hpp"

#include <algorithm>

namespace chatglmd::jobs {

core::Millis backoff_delay(int attempts, double jitter) {
  const int exponent = std::clamp(attempts - 1, 0, 20);
  const auto raw = kBackoffBase.count() * (std::int64_t{1} << exponent);
  const auto capped = std::min<std::int64_t>(raw, kBackoffCap.count());
  const double spread = 0.8 + 0.4 * std::clamp(jitter, 0.0, 0.999999);
  return core::Millis{static_cast<std::int64_t>(static_cast<double>(capped) * spread)};
}

}  // namespace chatglmd::jobs
