#include "filter/filter_holder.hpp"

#include <utility>

namespace chatglmd::filter {

FilterHolder::FilterHolder()
    : filter_(WordFilter::build({})), whitelist_(std::make_shared<const Whitelist>()) {}

void FilterHolder::replace(std::shared_ptr<const WordFilter> filter) {
  // A null filter would make every reader check for null; an empty one means the same.
  if (!filter) filter = WordFilter::build({});
  filter_.store(std::move(filter));
}

bool FilterHolder::is_whitelisted(std::string_view openid) const {
  const auto list = whitelist_.load();
  return list->find(openid) != list->end();
}

void FilterHolder::replace_whitelist(Whitelist openids) {
  whitelist_.store(std::make_shared<const Whitelist>(std::move(openids)));
}

}  // namespace chatglmd::filter
