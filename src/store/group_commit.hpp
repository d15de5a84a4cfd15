#pragma once
// Group commit: many small write units (one per payment notify) share one transaction and so
// one fsync. Each unit runs in its own savepoint, so a failing unit rolls back alone; every
// unit's `done` runs only after the shared COMMIT is durable, so a reply such as `success`
// never goes out for a change that could still be lost.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "store/store.hpp"

namespace chatglmd::store {

inline constexpr std::size_t kDefaultGroupCommitBatch = 256;

class GroupCommitter {
 public:
  using Work = std::function<void()>;
  using Done = std::function<void(bool committed)>;

  explicit GroupCommitter(Store& store, std::size_t max_batch = kDefaultGroupCommitBatch);
  ~GroupCommitter();  // finishes what was submitted, then stops
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // `work` runs on the committer thread inside the shared transaction; `done(true)` after the
  // commit, `done(false)` when the work threw or the commit failed (nothing of it was kept).
  void submit(Work work, Done done);

  std::uint64_t commits() const;  // transactions committed so far (for tests and benchmarks)

 private:
  struct Item {
    Work work;
    Done done;
  };
  void run();

  Store& store_;
  std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::uint64_t commits_ = 0;
  std::thread thread_;
};

}  // namespace chatglmd::store
