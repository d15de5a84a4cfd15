#pragma once
// Keeps the sensitive-word filter and the whitelist in step with the store and the config:
// loaded at start, polled every second for a change (`words add` from another process shows
// within 2 s), and reloaded at once on SIGHUP. Other copies of store data kept in memory (the
// product catalogue) follow the same poll and SIGHUP.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "filter/filter_holder.hpp"
#include "store/store.hpp"

namespace chatglmd::app {

inline constexpr auto kWordPoll = std::chrono::seconds(1);

class FilterReloader {
 public:
  // on_demand: no polling thread; the owner calls reload_if_changed() (tests run it by hand).
  enum class Polling { background, on_demand };

  FilterReloader(store::Store& store, filter::FilterHolder& holder,
                 std::vector<std::string> config_whitelist, Polling polling = Polling::background);
  ~FilterReloader();
  FilterReloader(const FilterReloader&) = delete;
  FilterReloader& operator=(const FilterReloader&) = delete;

  void set_config_whitelist(std::vector<std::string> ids);
  void reload();
  // One poll: reloads when the words or the whitelist changed since the last load.
  bool reload_if_changed();
  // Keeps another copy in step: refresh(false) at every poll (the copy checks its own stamp),
  // refresh(true) on reload().
  void follow(std::function<void(bool force)> refresh);

 private:
  void poll();
  void reload_filter();
  void refresh_followers(bool force);
  store::Store& store_;
  filter::FilterHolder& holder_;
  // SIGHUP reloads on an io thread while the poll thread may be reloading too: one at a time,
  // and the versions they record are only touched under this lock.
  std::mutex reload_mutex_;
  std::int64_t words_version_ = -1, whitelist_version_ = -1;
  std::mutex mutex_;  // config_whitelist_, followers_ and done_
  std::vector<std::string> config_whitelist_;
  std::vector<std::function<void(bool)>> followers_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace chatglmd::app
