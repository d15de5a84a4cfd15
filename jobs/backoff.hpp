#pragma once
#include "core/time.hpp"

namespace chatglmd::jobs {

inline constexpr core::Millis kBackoffBase{std::chrono::seconds(30)};
inline constexpr core::Millis kBackoffCap{std::chrono::minutes(30)};

// Delay before attempt number `attempts` + 1: base * 2^(attempts-1), capped, then spread by
// `jitter` in [0, 1) over +-20% so that a burst of failures does not retry in lockstep.
core::Millis backoff_delay(int attempts, double jitter);

}  // namespace chatglmd::jobs
