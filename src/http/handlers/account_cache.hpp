#pragma once
// What a chat start needs of an account (status and models), kept in memory: every chat start
// would otherwise read the account on a worker thread before it could be charged. The store's
// account stamp (AccountRepository::version) moves in the same transaction as a freeze, an
// unfreeze or a grant that adds a model, from this process or another; it is read on each
// request (one row, on a connection that never waits), and a moved stamp empties the memory,
// so a freeze applies at once to the next chat start. Users without an account are not kept.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/records.hpp"

namespace chatglmd::store {
class AccountRepository;
}

namespace chatglmd::http {

inline constexpr std::size_t kMaxCachedAccounts = 100'000;  // then it starts afresh

class AccountCache {
 public:
  struct Known {
    store::AccountStatus status = store::AccountStatus::Ok;
    std::string model_types;
  };

  // `stamps`: the accounts of a connection of its own (the catalogue's), busy timeout 0.
  explicit AccountCache(store::AccountRepository& stamps,
                        std::size_t max_entries = kMaxCachedAccounts);
  AccountCache(const AccountCache&) = delete;
  AccountCache& operator=(const AccountCache&) = delete;

  // The stamp as it is now; nothing when it cannot be read (busy, an error, no stamp): then
  // the account must be read from the store.
  std::optional<std::int64_t> current_stamp();
  // The account as of `stamp` (from current_stamp()), when it is in memory.
  std::optional<Known> find(const std::string& openid, std::int64_t stamp);
  // Keeps an account read from the store after current_stamp() returned `stamp`: dropped when
  // the stamp has moved since, as the row may be older than the change.
  void remember(const store::Account& account, std::int64_t stamp);

 private:
  void follow_locked(std::int64_t stamp);

  store::AccountRepository& stamps_;
  const std::size_t max_entries_;
  std::mutex stamp_mutex_;  // the stamp connection serves one request at a time
  std::mutex mutex_;
  std::int64_t stamp_ = -1;
  std::unordered_map<std::string, Known> known_;
};

}  // namespace chatglmd::http
