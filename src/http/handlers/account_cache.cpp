#include "http/handlers/account_cache.hpp"

#include "store/store.hpp"

namespace chatglmd::http {

AccountCache::AccountCache(store::AccountRepository& stamps, std::size_t max_entries)
    : stamps_(stamps), max_entries_(max_entries == 0 ? 1 : max_entries) {}

std::optional<std::int64_t> AccountCache::current_stamp() {
  try {
    std::lock_guard lock(stamp_mutex_);
    return stamps_.version();
  } catch (const std::exception&) {
    return std::nullopt;  // busy or broken: the caller reads the account itself
  }
}

void AccountCache::follow_locked(std::int64_t stamp) {
  if (stamp <= stamp_) return;
  known_.clear();
  stamp_ = stamp;
}

std::optional<AccountCache::Known> AccountCache::find(const std::string& openid,
                                                      std::int64_t stamp) {
  std::lock_guard lock(mutex_);
  follow_locked(stamp);
  if (stamp != stamp_) return std::nullopt;  // an older reading than one seen already
  auto it = known_.find(openid);
  if (it == known_.end()) return std::nullopt;
  return it->second;
}

void AccountCache::remember(const store::Account& account, std::int64_t stamp) {
  std::lock_guard lock(mutex_);
  follow_locked(stamp);
  if (stamp != stamp_) return;
  if (known_.size() >= max_entries_) known_.clear();
  known_[account.openid] = Known{account.status, account.model_types};
}

}  // namespace chatglmd::http
