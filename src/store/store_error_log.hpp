#pragma once
// The log of a store that takes no writes (full disk, deleted or read-only file): the first error
// is logged at once, the ones that follow within a minute are counted instead of logged, and the
// count goes out with the next line once the minute has passed (or when the store recovers). A
// full disk then costs the log one line a minute, not one per request and per job tick.
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "core/time.hpp"

namespace chatglmd::store {

inline constexpr core::Millis kStoreErrorLogWindow{std::chrono::minutes(1)};

class StoreErrorLog {
 public:
  using Sink = std::function<void(const std::string& line)>;
  StoreErrorLog(const core::Clock& clock, core::Millis window, Sink sink);

  // `where` says who met the error ("chat for USER", "reconcile: tick").
  void report(const std::string& where, const std::string& what);
  // The store works again: says how many errors went unlogged since the last line, if any.
  void recovered();

 private:
  void say_suppressed(core::UtcMs now);
  const core::Clock& clock_;
  const core::Millis window_;
  Sink sink_;
  std::mutex mu_;
  std::optional<core::UtcMs> last_line_;
  long suppressed_ = 0;
  std::string last_suppressed_;
};

// The daemon's instance: the system clock, lines through spdlog at error level.
StoreErrorLog& store_error_log();

}  // namespace chatglmd::store
