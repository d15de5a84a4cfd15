#include "app/filter_reloader.hpp"

#include <spdlog/spdlog.h>

#include "filter/word_filter.hpp"

namespace chatglmd::app {

FilterReloader::FilterReloader(store::Store& store, filter::FilterHolder& holder,
                               std::vector<std::string> config_whitelist, Polling polling)
    : store_(store), holder_(holder), config_whitelist_(std::move(config_whitelist)) {
  reload();
  if (polling == Polling::background) thread_ = std::thread([this] { poll(); });
}

FilterReloader::~FilterReloader() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FilterReloader::set_config_whitelist(std::vector<std::string> ids) {
  std::lock_guard lock(mutex_);
  config_whitelist_ = std::move(ids);
}

void FilterReloader::follow(std::function<void(bool force)> refresh) {
  std::lock_guard lock(mutex_);
  followers_.push_back(std::move(refresh));
}

void FilterReloader::refresh_followers(bool force) {
  std::vector<std::function<void(bool)>> followers;
  {
    std::lock_guard lock(mutex_);
    followers = followers_;
  }
  for (auto& refresh : followers) refresh(force);
}

void FilterReloader::reload() {
  reload_filter();
  refresh_followers(true);
}

void FilterReloader::reload_filter() {
  std::lock_guard reloading(reload_mutex_);
  // Each list comes with the version it was read at, from one snapshot: a `words add` that
  // lands after the read bumps the version past the recorded one and is loaded at the next poll.
  auto words = store_.words().snapshot();
  auto listed = store_.whitelist().snapshot();
  holder_.replace(filter::WordFilter::build(words.items));
  filter::FilterHolder::Whitelist ids(listed.items.begin(), listed.items.end());
  {
    std::lock_guard lock(mutex_);
    for (auto& id : config_whitelist_) ids.insert(id);
  }
  holder_.replace_whitelist(std::move(ids));
  words_version_ = words.version;
  whitelist_version_ = listed.version;
  spdlog::info("filter: {} words, {} whitelisted users", words.items.size(),
               holder_.whitelist()->size());
}

bool FilterReloader::reload_if_changed() {
  bool changed = false;
  {
    std::lock_guard reloading(reload_mutex_);
    changed = store_.words().version() != words_version_ ||
              store_.whitelist().version() != whitelist_version_;
  }
  if (changed) reload_filter();
  refresh_followers(false);
  return changed;
}

void FilterReloader::poll() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, kWordPoll, [this] { return done_; })) {
    lock.unlock();
    try {
      reload_if_changed();
    } catch (const std::exception& e) {
      spdlog::warn("filter reload failed: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace chatglmd::app
