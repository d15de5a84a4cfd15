#include "http/handlers/window_counter.hpp"

#include <algorithm>

#include "metrics/metrics.hpp"

namespace chatglmd::http {

std::optional<core::UtcMs> WindowCounter::take_counted(const std::string& key, core::UtcMs now,
                                                       int limit) {
  std::lock_guard lock(mutex_);
  Window* w = current(key, now);
  if (!w) {  // full of live windows: refusing is the only answer that keeps the limit
    if (refused_full_) refused_full_->inc();
    return std::nullopt;
  }
  if (w->count >= limit) return std::nullopt;
  ++w->count;
  return w->start;
}

void WindowCounter::add(const std::string& key, core::UtcMs now) {
  std::lock_guard lock(mutex_);
  if (Window* w = current(key, now)) ++w->count;
}

int WindowCounter::count(const std::string& key, core::UtcMs now) const {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(key);
  if (it == windows_.end() || now - it->second.start >= window_) return 0;
  return it->second.count;
}

void WindowCounter::give_back(const std::string& key, core::UtcMs window_start) {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(key);
  // A window of a key starts at least a window after the one before it, so a start names one
  // (compared with the time of the take instead, a request whose `now` was read before another's
  // opened the window would count in it and never be given back). Only a key swept away and
  // counted again by a take whose `now` is the old start to the millisecond could be confused:
  // the user would get one count back from the new window, never lose one.
  if (it != windows_.end() && it->second.start == window_start && it->second.count > 0)
    --it->second.count;
}

std::size_t WindowCounter::keys() const {
  std::lock_guard lock(mutex_);
  return windows_.size();
}

WindowCounter::Window* WindowCounter::current(const std::string& key, core::UtcMs now) {
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    if (windows_.size() >= max_keys_) sweep(now);
    if (windows_.size() >= max_keys_) return nullptr;
    it = windows_.emplace(key, Window{now, 0}).first;
  }
  Window& w = it->second;
  if (now - w.start >= window_) w = Window{now, 0};
  return &w;
}

void WindowCounter::sweep(core::UtcMs now) {
  if (now < next_sweep_) return;
  std::erase_if(windows_, [&](const auto& kv) { return now - kv.second.start >= window_; });
  core::UtcMs oldest = now;
  for (const auto& [key, w] : windows_) oldest = std::min(oldest, w.start);
  next_sweep_ = oldest + window_;
}

}  // namespace chatglmd::http
