#pragma once
// Group commit: the durable writes in flight (payment notifies, chat starts and refunds, job
// outcomes) share one transaction and so one fsync. Each unit runs in its own savepoint, so a
// failing unit rolls back alone; every unit's `done` runs only after the shared COMMIT is
// durable, so a reply such as `success`, the first byte of an answer or a job's count never
// goes out for a change that could still be lost.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "store/store.hpp"

namespace chatglmd::store {

inline constexpr std::size_t kDefaultGroupCommitBatch = 256;
// A unit that must not be lost (submit_until_committed) waits this long before its first retry,
// twice as long before each next one, up to the bound: a full disk or a restarting server is
// tried a few times a second at first, then every few seconds, never in a busy loop.
inline constexpr std::chrono::milliseconds kFirstRetryPause{100};
inline constexpr std::chrono::milliseconds kMaxRetryPause{5000};

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
  // `done` runs on the committer thread: keep it short (answer, post, count). `work` is released
  // after the commit and before `done`, so `done` must hold whatever it needs itself.
  void submit(Work work, Done done);

  // For a write whose loss would cost a user (a chat given back after a failed answer): when the
  // store fails it (the unit throws a StoreError, or the shared COMMIT fails) it is rolled back
  // and tried again after a pause (kFirstRetryPause, doubling to kMaxRetryPause) until it
  // commits; then `done(true)`, once. A rolled-back try leaves nothing, so the change is made
  // once however many tries it takes. `done(false)` only when the unit throws anything else (a
  // bug), when the COMMIT's outcome is unknown (CommitOutcomeUnknown: trying again could make
  // the change twice), or when it still fails in the last try the committer makes when it stops.
  void submit_until_committed(Work work, Done done);

  // The blocking form, with Store::in_transaction's contract: `body` runs as one unit of the
  // next shared commit and this returns once that commit is durable. Throws what `body` threw
  // (its savepoint rolled back; the rest of the batch commits) or, when the shared COMMIT
  // failed, a std::runtime_error saying why. Called from the committer thread itself (a unit
  // that writes through a helper that commits), `body` joins the open transaction. Never call
  // it while holding a transaction of your own on this thread: the committer would wait for it.
  void run(const std::function<void()>& body);

  std::uint64_t commits() const;  // transactions committed so far (for tests and benchmarks)
  std::uint64_t units() const;    // units committed so far

 private:
  struct Item {
    Work work;
    // One of the two is set: `done` as submitted (not wrapped in another function, which cost
    // an allocation per unit), or run()'s, which also hears why: the unit's own exception (null
    // when the COMMIT failed). The committer hands its only reference to that exception over,
    // so the waiter alone ever releases it: the reference count lives in libstdc++, which
    // ThreadSanitizer cannot see ordering.
    Done done;
    std::function<void(bool, std::exception_ptr, const std::string&)> done_with_failure;
    bool until_committed = false;
    std::chrono::milliseconds next_pause{0};  // before its next try, when it fails again
  };
  void enqueue(Item item);
  void loop();

  Store& store_;
  std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  // A deque: a backlog far past max_batch_ (a stalled disk or server) leaves it one batch at a
  // time in constant time per unit, and its blocks go back when it shrinks.
  std::deque<Item> queue_;
  std::multimap<std::chrono::steady_clock::time_point, Item> retries_;  // by when they are due
  bool stopping_ = false;
  std::uint64_t commits_ = 0;
  std::uint64_t units_ = 0;
  std::thread thread_;
};

// True on the committer thread while a batch's transaction is open: a repository call made
// there must join that transaction, so a backend that finds none open (it was rolled back by
// an I/O error in an earlier unit) must throw instead of committing on its own.
bool in_group_batch();

// Runs `body` durably: a unit of `commits` when there is one, else a transaction of its own.
// Returns after the commit; throws as Store::in_transaction does.
void commit_durably(Store& store, GroupCommitter* commits, const std::function<void()>& body);

}  // namespace chatglmd::store
