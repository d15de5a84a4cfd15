#pragma once
// What the chat pipeline reads on every request: the current word filter and the whitelist.
// A reload builds new ones off to the side and swaps them in; readers keep whatever they
// loaded until they drop it, so a swap never blocks a scan and a scan never sees half a table.
#include <atomic>
#include <memory>
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

  std::shared_ptr<const WordFilter> current() const { return filter_.load(); }
  void replace(std::shared_ptr<const WordFilter> filter);

  // Openids that skip the rate limit and the word check.
  bool is_whitelisted(std::string_view openid) const;
  void replace_whitelist(Whitelist openids);
  std::shared_ptr<const Whitelist> whitelist() const { return whitelist_.load(); }

 private:
  std::atomic<std::shared_ptr<const WordFilter>> filter_;
  std::atomic<std::shared_ptr<const Whitelist>> whitelist_;
};

}  // namespace chatglmd::filter
