#include "store/store_error_log.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace chatglmd::store {

StoreErrorLog::StoreErrorLog(const core::Clock& clock, core::Millis window, Sink sink)
    : clock_(clock), window_(window), sink_(std::move(sink)) {}

void StoreErrorLog::report(const std::string& where, const std::string& what) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  // A clock set back counts as a passed window rather than silencing the log for good.
  if (last_line_ && now - *last_line_ < window_ && now >= *last_line_) {
    ++suppressed_;
    last_suppressed_ = where + ": " + what;
    return;
  }
  say_suppressed(now);
  sink_(fmt::format("{}: store error: {}", where, what));
  last_line_ = now;
}

void StoreErrorLog::recovered() {
  std::lock_guard lock(mu_);
  say_suppressed(clock_.now());
  last_line_.reset();
}

void StoreErrorLog::say_suppressed(core::UtcMs now) {
  if (suppressed_ == 0) return;
  const auto seconds = last_line_ ? (now - *last_line_).count() / 1000 : 0;
  sink_(
      fmt::format("store error repeated {} more times in the last {}s, not logged one by one "
                  "(the last: {})",
                  suppressed_, seconds, last_suppressed_));
  suppressed_ = 0;
  last_suppressed_.clear();
}

StoreErrorLog& store_error_log() {
  static const core::SystemClock clock;
  static StoreErrorLog log(clock, kStoreErrorLogWindow,
                           [](const std::string& line) { spdlog::error("{}", line); });
  return log;
}

}  // namespace chatglmd::store
