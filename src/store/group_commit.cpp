#include "store/group_commit.hpp"

#include <vector>

namespace chatglmd::store {

GroupCommitter::GroupCommitter(Store& store, std::size_t max_batch)
    : store_(store), max_batch_(max_batch), thread_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void GroupCommitter::submit(Work work, Done done) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(work), std::move(done)});
  }
  wake_.notify_one();
}

std::uint64_t GroupCommitter::commits() const {
  std::lock_guard lock(mutex_);
  return commits_;
}

void GroupCommitter::run() {
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything submitted is done
      // Whatever arrived while the previous commit was syncing goes into this one.
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<bool> ok(batch.size(), false);
    bool committed = false;
    try {
      store_.in_transaction([&] {
        for (std::size_t i = 0; i < batch.size(); ++i) {
          try {
            store_.in_transaction(
                batch[i].work);  // a savepoint: a failure rolls back this unit only
            ok[i] = true;
          } catch (const std::exception&) {
            ok[i] = false;
          }
        }
      });
      committed = true;
    } catch (const std::exception&) {
      committed = false;
    }
    {
      std::lock_guard lock(mutex_);
      if (committed) ++commits_;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(committed && ok[i]);
  }
}

}  // namespace chatglmd::store
