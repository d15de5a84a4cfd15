#include "filter/filter_holder.hpp"

#include <utility>

namespace chatglmd::filter {

FilterHolder::FilterHolder()
    : filter_(WordFilter::build({})), whitelist_(std::make_shared<const Whitelist>()) {}

std::shared_ptr<const WordFilter> FilterHolder::current() const {
  std::lock_guard lock(mutex_);
  return filter_;
}

std::shared_ptr<const FilterHolder::Whitelist> FilterHolder::whitelist() const {
  std::lock_guard lock(mutex_);
  return whitelist_;
}

void FilterHolder::replace(std::shared_ptr<const WordFilter> filter) {
  // A null filter would make every reader check for null; an empty one means the same.
  if (!filter) filter = WordFilter::build({});
  std::lock_guard lock(mutex_);
  // The old filter is released by its last reader, outside this lock.
  filter_.swap(filter);
}

bool FilterHolder::is_whitelisted(std::string_view openid) const {
  const auto list = whitelist();
  return list->find(openid) != list->end();
}

void FilterHolder::replace_whitelist(Whitelist openids) {
  auto list = std::make_shared<const Whitelist>(std::move(openids));
  std::lock_guard lock(mutex_);
  whitelist_.swap(list);
}

}  // namespace chatglmd::filter
