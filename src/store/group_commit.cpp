#include "store/group_commit.hpp"

#include <pthread.h>

#include <stdexcept>
#include <vector>

#include "store/store_error.hpp"
#include "store/store_error_log.hpp"

namespace chatglmd::store {

namespace {
thread_local bool tls_in_batch = false;

// Marks the batch's transaction as open for the repository calls of its units.
class BatchScope {
 public:
  BatchScope() { tls_in_batch = true; }
  ~BatchScope() { tls_in_batch = false; }
  BatchScope(const BatchScope&) = delete;
  BatchScope& operator=(const BatchScope&) = delete;
};

// A unit worth another try: the store failed it (its own statement, or the shared COMMIT when
// the unit itself threw nothing). Any other exception is the unit's own bug and would fail again.
bool failed_by_store(const std::exception_ptr& unit_failure) {
  if (!unit_failure) return true;
  try {
    std::rethrow_exception(unit_failure);
  } catch (const StoreError&) {
    return true;
  } catch (...) {
    return false;
  }
}

void report_retry(const std::exception_ptr& unit_failure, const std::string& commit_error,
                  std::chrono::milliseconds pause) {
  std::string why = commit_error;
  if (unit_failure) {
    try {
      std::rethrow_exception(unit_failure);
    } catch (const std::exception& e) {
      why = e.what();
    } catch (...) {
    }
  }
  store_error_log().report("group commit: a write that must not be lost, tried again in " +
                               std::to_string(pause.count()) + " ms",
                           why);
}
}  // namespace

bool in_group_batch() {
  return tls_in_batch;
}

GroupCommitter::GroupCommitter(Store& store, std::size_t max_batch)
    : store_(store), max_batch_(max_batch == 0 ? 1 : max_batch), thread_([this] { loop(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void GroupCommitter::enqueue(Item item) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(item));
  }
  wake_.notify_one();
}

void GroupCommitter::submit(Work work, Done done) {
  Item item;
  item.work = std::move(work);
  item.done = std::move(done);
  enqueue(std::move(item));
}

void GroupCommitter::submit_until_committed(Work work, Done done) {
  Item item;
  item.work = std::move(work);
  item.done = std::move(done);
  item.until_committed = true;
  item.next_pause = kFirstRetryPause;
  enqueue(std::move(item));
}

void GroupCommitter::run(const std::function<void()>& body) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    store_.in_transaction(body);  // inside a unit: a savepoint of the open batch
    return;
  }
  struct Wait {
    std::mutex mutex;
    std::condition_variable cv;
    bool finished = false;
    bool committed = false;
    std::exception_ptr failure;
    std::string error;
  } wait;
  Item item;
  item.work = [&body] { body(); };
  item.done_with_failure = [&wait](bool committed, std::exception_ptr failure,
                                   const std::string& error) {
    std::lock_guard lock(wait.mutex);
    wait.finished = true;
    wait.committed = committed;
    wait.failure = std::move(failure);
    wait.error = error;
    wait.cv.notify_one();  // under the lock: `wait` lives on the caller's stack
  };
  enqueue(std::move(item));
  std::unique_lock lock(wait.mutex);
  wait.cv.wait(lock, [&wait] { return wait.finished; });
  if (wait.committed) return;
  if (wait.failure) std::rethrow_exception(wait.failure);
  throw std::runtime_error("group commit failed: " + wait.error);
}

std::uint64_t GroupCommitter::commits() const {
  std::lock_guard lock(mutex_);
  return commits_;
}

std::uint64_t GroupCommitter::units() const {
  std::lock_guard lock(mutex_);
  return units_;
}

void GroupCommitter::loop() {
  pthread_setname_np(pthread_self(), "group-commit");  // for top -H and perf
  // Kept from batch to batch (emptied at the end of each), so a batch allocates nothing here.
  std::vector<Item> batch;
  std::vector<std::exception_ptr> failures;
  for (;;) {
    bool last_try = false;  // stopping: a unit that fails now is not tried again
    {
      std::unique_lock lock(mutex_);
      for (;;) {
        // Retries join the queue when due, and all at once for a last try when stopping.
        const auto now = std::chrono::steady_clock::now();
        while (!retries_.empty() && (stopping_ || retries_.begin()->first <= now)) {
          queue_.push_back(std::move(retries_.begin()->second));
          retries_.erase(retries_.begin());
        }
        if (!queue_.empty()) break;
        if (stopping_) return;  // everything submitted is done
        if (retries_.empty())
          wake_.wait(lock);
        else
          wake_.wait_until(lock, retries_.begin()->first);
      }
      last_try = stopping_;
      // Whatever arrived while the previous commit was syncing goes into this one, oldest first.
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    failures.assign(batch.size(), nullptr);
    std::string commit_error;
    bool committed = false;
    bool outcome_unknown = false;  // it may have committed: nothing is tried again
    try {
      store_.in_transaction([&] {
        BatchScope scope;
        for (std::size_t i = 0; i < batch.size(); ++i) {
          try {
            store_.in_transaction(batch[i].work);  // a savepoint: a failure rolls back this unit
          } catch (...) {
            failures[i] = std::current_exception();
          }
        }
      });
      committed = true;
    } catch (const CommitOutcomeUnknown& e) {
      commit_error = e.what();
      outcome_unknown = true;
    } catch (const std::exception& e) {
      commit_error = e.what();
    } catch (...) {
      commit_error = "an exception that is not a std::exception";
    }
    // What each unit's work holds goes now, after the transaction (a destructor that wrote to
    // the store would otherwise land in the batch outside any savepoint) and before any `done`,
    // which can then hold the last reference to what the unit shares with its submitter and
    // choose the thread that releases it. Not a unit that may run again.
    for (auto& item : batch) {
      if (!item.until_committed) item.work = nullptr;
    }
    // Said here, before any unit hears of it: the log's first line about a broken store then
    // names the store's own reason, whichever request or tick met it first (the units only say
    // that their write was lost).
    if (!committed) store_error_log().report("group commit", commit_error);
    std::size_t kept = 0;
    for (const auto& f : failures) kept += committed && !f;
    {
      std::lock_guard lock(mutex_);
      if (committed) ++commits_;
      units_ += kept;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Item& item = batch[i];
      const bool kept_unit = committed && !failures[i];
      if (!kept_unit && item.until_committed && !last_try && !outcome_unknown &&
          failed_by_store(failures[i])) {
        report_retry(failures[i], commit_error, item.next_pause);
        const auto due = std::chrono::steady_clock::now() + item.next_pause;
        item.next_pause = std::min(item.next_pause * 2, kMaxRetryPause);
        std::lock_guard lock(mutex_);
        retries_.emplace(due, std::move(item));
        continue;
      }
      if (item.done_with_failure) {
        item.done_with_failure(kept_unit, std::move(failures[i]), commit_error);
      } else {
        item.done(kept_unit);
      }
    }
    batch.clear();  // the units' functions are released here, before the next batch waits
    failures.clear();
  }
}

void commit_durably(Store& store, GroupCommitter* commits, const std::function<void()>& body) {
  if (commits) {
    commits->run(body);
  } else {
    store.in_transaction(body);
  }
}

}  // namespace chatglmd::store
