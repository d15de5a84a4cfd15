#pragma once
// What the chat pipeline reads on every request: the current word filter and the whitelist.
// A reload builds new ones off to the side and swaps them in; readers keep whatever they
// loaded until they drop it, so a swap never blocks a scan and a scan never sees half a table.
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "filter/word_filter.hpp"

namespace chatglmd::filter {

class FilterHolder {
 public:
  using Whitelist = std::set<std::string, std::less<>>;

  // Starts with an empty dictionary and an empty whitelist.
  FilterHolder();

  std::shared_ptr<const WordFilter> current() const;
  void replace(std::shared_ptr<const WordFilter> filter);

  // Openids that skip the rate limit and the word check.
  bool is_whitelisted(std::string_view openid) const;
  void replace_whitelist(Whitelist openids);
  std::shared_ptr<const Whitelist> whitelist() const;

 private:
  // A mutex held only to copy or swap a pointer. libstdc++ 12's atomic<shared_ptr> unlocks its
  // load with a relaxed store, which ThreadSanitizer rightly reports as a race with a swap.
  mutable std::mutex mutex_;
  std::shared_ptr<const WordFilter> filter_;
  std::shared_ptr<const Whitelist> whitelist_;
};

}  // namespace chatglmd::filter
