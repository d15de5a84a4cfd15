#pragma once
// Per-key counts in fixed windows: the chat rate limit, the free chats and failed logins are all
// "at most N per key per window". A key's window starts at its first count and ends `window`
// later; the next count after that starts a new one.
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/time.hpp"

namespace chatglmd::metrics {
class Counter;
}

namespace chatglmd::http {

class WindowCounter {
 public:
  // Memory stays bounded: at most max_keys keys are tracked. When that many are all inside their
  // windows, ended windows are swept first; if none has ended, a new key is refused (take says
  // no) and counted in `refused_full`. Letting it through uncounted would hand a flood of fresh
  // keys (addresses) exactly the unlimited budget the counter exists to deny.
  static constexpr std::size_t kDefaultMaxKeys = 100'000;

  explicit WindowCounter(core::Millis window, std::size_t max_keys = kDefaultMaxKeys,
                         metrics::Counter* refused_full = nullptr)
      : window_(window), max_keys_(max_keys), refused_full_(refused_full) {}

  // Counts one for key when its window holds fewer than limit; false (nothing counted) otherwise,
  // also when the key cannot be tracked because the table is full of live windows.
  bool take(const std::string& key, core::UtcMs now, int limit) {
    return take_counted(key, now, limit).has_value();
  }
  // take() that also says which window counted it: that window's start, what give_back needs.
  std::optional<core::UtcMs> take_counted(const std::string& key, core::UtcMs now, int limit);
  // Counts one whatever the limit: for something that already happened (nothing when full).
  void add(const std::string& key, core::UtcMs now);
  // What key has counted in its current window.
  int count(const std::string& key, core::UtcMs now) const;
  // Undoes one count of the window that started at `window_start` (a free chat that failed
  // before its first token), only while that window is the key's current one: a window that has
  // ended since took its count with it, and the next one never had it to give.
  void give_back(const std::string& key, core::UtcMs window_start);
  std::size_t keys() const;

 private:
  struct Window {
    core::UtcMs start;
    int count = 0;
  };
  // The key's current window, started afresh when the old one ended; null when the map is full.
  Window* current(const std::string& key, core::UtcMs now);
  void sweep(core::UtcMs now);

  const core::Millis window_;
  const std::size_t max_keys_;
  metrics::Counter* const refused_full_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
  core::UtcMs next_sweep_{};  // no window ends before this, so sweeping earlier frees nothing
};

}  // namespace chatglmd::http
