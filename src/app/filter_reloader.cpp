#include "app/filter_reloader.hpp"

#include <spdlog/spdlog.h>

#include "filter/word_filter.hpp"

namespace chatglmd::app {

FilterReloader::FilterReloader(store::Store& store, filter::FilterHolder& holder,
                               std::vector<std::string> config_whitelist)
    : store_(store), holder_(holder), config_whitelist_(std::move(config_whitelist)) {
  reload();
  thread_ = std::thread([this] { poll(); });
}

FilterReloader::~FilterReloader() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void FilterReloader::set_config_whitelist(std::vector<std::string> ids) {
  std::lock_guard lock(mutex_);
  config_whitelist_ = std::move(ids);
}

void FilterReloader::reload() {
  auto words = store_.words().list();
  holder_.replace(filter::WordFilter::build(words));
  filter::FilterHolder::Whitelist ids;
  for (auto& id : store_.whitelist().list()) ids.insert(id);
  {
    std::lock_guard lock(mutex_);
    for (auto& id : config_whitelist_) ids.insert(id);
  }
  holder_.replace_whitelist(std::move(ids));
  words_version_ = store_.words().version();
  whitelist_version_ = store_.whitelist().version();
  spdlog::info("filter: {} words, {} whitelisted users", words.size(), holder_.whitelist()->size());
}

void FilterReloader::poll() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, kWordPoll, [this] { return done_; })) {
    lock.unlock();
    try {
      if (store_.words().version() != words_version_ ||
          store_.whitelist().version() != whitelist_version_)
        reload();
    } catch (const std::exception& e) {
      spdlog::warn("filter reload failed: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace chatglmd::app
