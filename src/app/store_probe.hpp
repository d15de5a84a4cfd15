#pragma once
// What /readyz says about the store: its schema is current and a write commits. The store is
// probed at most once per kStoreProbeInterval and its answer reused in between; the store's probe
// writes only when no real write committed since the last one (SqliteStore::write_probe), so a busy
// daemon adds no commits and an idle one polled by a load balancer one small commit every few
// seconds.
#include <mutex>
#include <optional>
#include <string>

#include "core/time.hpp"
#include "store/store.hpp"

namespace chatglmd::app {

inline constexpr core::Millis kStoreProbeInterval{std::chrono::seconds(3)};

class StoreProbe {
 public:
  // `db_path` names the store in messages; `file_backed`: an SQLite file, whose permissions
  // explain a refused write.
  StoreProbe(store::Store& store, const core::Clock& clock, std::string db_path,
             bool file_backed = true);
  // "" when the store is ready, else why not (naming the file, its owner and mode and our user
  // when permissions are the cause). Probes again once the last answer is older than the
  // interval.
  std::string check();
  // The same without the cache (serve's start).
  std::string check_now();

 private:
  std::string probe();
  std::string last_answer();
  store::Store& store_;
  const core::Clock& clock_;
  const std::string db_path_;
  const bool file_backed_;
  std::mutex mutex_;  // one probe at a time
  std::optional<core::UtcMs> probed_at_;
  std::mutex answer_mutex_;  // last_, read by the polls that do not wait for a running probe
  std::string last_ = "the store has not been probed yet";
};

}  // namespace chatglmd::app
