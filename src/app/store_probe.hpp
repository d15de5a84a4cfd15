#pragma once
// What /readyz says about the store: its schema is current and a write commits. The write is
// made at most once per kStoreProbeInterval and its answer reused in between, so a load
// balancer polling /readyz costs the disk one small commit every few seconds.
#include <mutex>
#include <optional>
#include <string>

#include "core/time.hpp"
#include "store/store.hpp"

namespace chatglmd::app {

inline constexpr core::Millis kStoreProbeInterval{std::chrono::seconds(3)};

class StoreProbe {
 public:
  StoreProbe(store::Store& store, const core::Clock& clock, std::string db_path);
  // "" when the store is ready, else why not (naming the file, its owner and mode and our user
  // when permissions are the cause). Probes again once the last answer is older than the
  // interval.
  std::string check();
  // The same without the cache (serve's start).
  std::string check_now();

 private:
  std::string probe();
  store::Store& store_;
  const core::Clock& clock_;
  const std::string db_path_;
  std::mutex mutex_;
  std::optional<core::UtcMs> probed_at_;
  std::string last_;
};

}  // namespace chatglmd::app
