#pragma once
// The store behind repository interfaces. SQLite is the embedded default; another backend
// (PostgreSQL) joins by implementing these and passing tests/store/store_suite.
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/records.hpp"

namespace chatglmd::store {

// Products and the change stamp they were read at, from one consistent read (as VersionedList).
struct VersionedProducts {
  std::int64_t version = 0;
  std::vector<Product> items;  // enabled or not, in list() order
};

class ProductRepository {
 public:
  virtual ~ProductRepository() = default;
  virtual std::vector<Product> list(bool enabled_only) = 0;
  virtual std::optional<Product> get(std::int64_t product_id) = 0;
  // False when the product id is taken.
  virtual bool add(const Product& product) = 0;
  virtual bool set_enabled(std::int64_t product_id, bool enabled) = 0;
  // Bumps on every change (add, enable, disable): the front keeps the catalogue in memory and
  // reads it again only when this moved.
  virtual std::int64_t version() = 0;
  virtual VersionedProducts snapshot() = 0;
};

// What charging one chat found: a frozen account is never charged, also when its freeze
// commits between the front's check and the charge.
enum class Charge { Charged, NothingLeft, Frozen };

class AccountRepository {
 public:
  virtual ~AccountRepository() = default;
  virtual std::optional<Account> get(const std::string& openid) = 0;
  // False when the account exists already.
  virtual bool create(const Account& account) = 0;
  // Adds quota and models (union), creating the account when missing.
  virtual void grant(const std::string& openid, std::int64_t quota, const std::string& models) = 0;
  virtual bool set_status(const std::string& openid, AccountStatus status) = 0;
  // Atomic `surplus_quota - 1 WHERE surplus_quota > 0` on an account that is not frozen.
  // NothingLeft also for an unknown account.
  virtual Charge consume_one(const std::string& openid) = 0;
  // Gives one back (upstream failed before the first token).
  virtual void refund_one(const std::string& openid) = 0;
  // A stamp that moves in the same transaction as any change of an existing account's status
  // or models (freeze, unfreeze, a grant that adds a model), so the front may keep those in
  // memory and check only the stamp per request. Quota is not covered: it is charged in the
  // store. Nothing: this backend keeps no such stamp (read the account per request).
  virtual std::optional<std::int64_t> version() { return std::nullopt; }
};

class OrderRepository {
 public:
  virtual ~OrderRepository() = default;
  // Inserts a CREATED order with its audit row. False when the order id is taken.
  virtual bool insert(const core::Order& order, core::UtcMs now) = 0;
  virtual std::optional<core::Order> get(const std::string& order_id) = 0;
  virtual std::vector<core::Order> list(const OrderFilter& filter) = 0;
  // The user's newest CREATED order for the product placed at or after `not_before`.
  virtual std::optional<core::Order> find_reusable(const std::string& openid,
                                                   std::int64_t product_id,
                                                   core::UtcMs not_before) = 0;
  virtual void set_pay_info(const std::string& order_id, const std::string& pay_info,
                            core::UtcMs now) = 0;

  // Compare-and-set from the current state as the state machine allows, with an audit row,
  // in one transaction. `payment` is required for PaymentConfirmed.
  virtual TransitionResult apply(const std::string& order_id, core::OrderEvent event,
                                 core::Cause cause, const std::string& detail, core::UtcMs now,
                                 const std::optional<PaymentFacts>& payment = std::nullopt) = 0;

  // Grants the order's quota (creating the account if missing, adding the models) and moves
  // PAID -> DELIVERED in one transaction; never twice.
  virtual DeliveryOutcome deliver(const std::string& order_id, core::Cause cause,
                                  core::UtcMs now) = 0;

  // A confirmed payment of a CREATED order: CREATED -> PAID -> DELIVERED as apply
  // (PaymentConfirmed) then deliver() would do it, with both audit rows (the first with
  // `detail`), in one call. Nothing when the order is not CREATED (any more): the caller takes
  // the general path, which knows late payments. `order` is as the caller has just read it (the
  // notify endpoint's path): its openid, quota and models never change after it is created, so
  // a backend need not read them again; whether it is still CREATED is its compare-and-set.
  // Both backends do it in one UPDATE (on the group committer's one thread); this default reads
  // the state again and takes the two general steps.
  virtual std::optional<DeliveryOutcome> pay_and_deliver_created(const core::Order& order,
                                                                 core::Cause cause,
                                                                 const std::string& detail,
                                                                 core::UtcMs now,
                                                                 const PaymentFacts& payment) {
    auto current = get(order.order_id);
    if (!current || current->state != core::OrderState::Created) return std::nullopt;
    auto t = apply(order.order_id, core::OrderEvent::PaymentConfirmed, cause, detail, now, payment);
    if (t.outcome != TransitionOutcome::Applied) return std::nullopt;  // moved meanwhile
    return deliver(order.order_id, cause, now);
  }
  // The same for an order known by its id: read, then the above (whose compare-and-set makes the
  // read safe outside any transaction).
  std::optional<DeliveryOutcome> pay_and_deliver_created(const std::string& order_id,
                                                         core::Cause cause,
                                                         const std::string& detail, core::UtcMs now,
                                                         const PaymentFacts& payment) {
    auto order = get(order_id);
    if (!order || order->state != core::OrderState::Created) return std::nullopt;
    return pay_and_deliver_created(*order, cause, detail, now, payment);
  }

  // Due CREATED orders placed in [placed_from, placed_until], ready for another attempt at
  // `now`, with id > after_id, ORDER BY id.
  virtual std::vector<core::Order> due_created(core::UtcMs placed_from, core::UtcMs placed_until,
                                               core::UtcMs now, std::int64_t after_id,
                                               int limit) = 0;
  // Due PAID orders paid at or before `paid_until`.
  virtual std::vector<core::Order> due_paid(core::UtcMs paid_until, core::UtcMs now,
                                            std::int64_t after_id, int limit) = 0;
  // Counts for metrics: how many are due and since when.
  struct Backlog {
    std::int64_t count = 0;
    std::optional<core::UtcMs> oldest;
  };
  virtual Backlog backlog_created(core::UtcMs placed_from, core::UtcMs placed_until) = 0;
  virtual Backlog backlog_paid(core::UtcMs paid_until) = 0;

  // Orders closed on ACQ.TRADE_NOT_EXIST, asked about again by the close-followup job.
  // Starts one (first due at `time_expire`); a second call for the same order changes nothing.
  // Meant to join the transaction that closes the order.
  virtual void add_close_followup(const std::string& order_id, core::UtcMs time_expire,
                                  core::UtcMs closed_at) = 0;
  // Orders whose pending follow-up was due at or before `due_until` and that are ready for
  // another attempt at `now`, with id > after_id, ORDER BY id (whatever their state now).
  virtual std::vector<core::Order> due_close_followups(core::UtcMs due_until, core::UtcMs now,
                                                       std::int64_t after_id, int limit) = 0;
  virtual Backlog backlog_close_followups(core::UtcMs due_until) = 0;
  // A follow-up query got a clear answer: count it and ask again at `next`, or never (nullopt).
  // Also clears the order's retry backoff.
  virtual void record_close_followup(const std::string& order_id, const std::string& answer,
                                     std::optional<core::UtcMs> next) = 0;
  virtual std::optional<CloseFollowup> close_followup(const std::string& order_id) = 0;

  // An attempt failed: bump attempts, set next_attempt_at and last_error.
  // Only while the order is still `expected`: a failure seen just before a notify moved the order
  // must not leave a stale error or delay on it.
  virtual void record_failure(const std::string& order_id, core::OrderState expected,
                              const std::string& error, core::UtcMs next_attempt_at) = 0;
  virtual std::vector<OrderEventRow> events(const std::string& order_id) = 0;

  // The SQL the due queries run, for EXPLAIN QUERY PLAN checks.
  virtual std::vector<std::string> due_query_plans() = 0;
};

class RefundRepository {
 public:
  virtual ~RefundRepository() = default;
  // In one transaction: a DELIVERED or PAID order without a refund gets a `requested` refund
  // row for its whole amount, the quota it granted is taken back from the account (down to
  // zero; recorded in quota_revoked) and an audit row is written. A refund row becomes due for
  // the refund-query job at `next_attempt_at`.
  virtual RefundRequestResult request(const std::string& order_id, const std::string& reason,
                                      core::Cause cause, core::UtcMs now,
                                      core::UtcMs next_attempt_at) = 0;
  virtual std::optional<Refund> get(const std::string& order_id) = 0;
  // Alipay confirmed the refund: requested -> succeeded and the order -> REFUNDED, audited, in
  // one transaction; once.
  virtual RefundDecision confirm(const std::string& order_id, core::Cause cause,
                                 const std::string& detail, core::UtcMs now) = 0;
  // Alipay refused for good: requested -> failed and the revoked quota given back, once.
  virtual RefundDecision fail(const std::string& order_id, core::Cause cause,
                              const std::string& detail, core::UtcMs now) = 0;
  // An unclear answer: attempts + 1, next_attempt_at, last_error, while still requested.
  virtual void record_failure(const std::string& order_id, const std::string& error,
                              core::UtcMs next_attempt_at) = 0;
  // Requested refunds asked for at or before `requested_until`, ready for another attempt at
  // `now`, with id > after_id, ORDER BY id.
  virtual std::vector<Refund> due(core::UtcMs requested_until, core::UtcMs now,
                                  std::int64_t after_id, int limit) = 0;
  virtual OrderRepository::Backlog backlog(core::UtcMs requested_until) = 0;
  // Totals for tests and operators: refunds by status.
  virtual std::int64_t count(core::RefundStatus status) = 0;
};

class JobRepository {
 public:
  virtual ~JobRepository() = default;
  // Takes or renews the lease when free, expired or already ours.
  virtual bool try_acquire(const std::string& name, const std::string& owner, core::UtcMs now,
                           core::UtcMs expires_at) = 0;
  virtual void release(const std::string& name, const std::string& owner) = 0;
  virtual std::int64_t record_run(const JobRunRow& run) = 0;
  virtual std::vector<JobRunRow> history(const std::string& name, int limit) = 0;
  virtual std::optional<JobRunRow> last_run(const std::string& name) = 0;

  // Per-item claims, for a store several nodes share (PostgreSQL): every node's runner works the
  // same backlog at once, each due item held by one of them. Without them (SQLite) the job lease
  // alone makes one runner work a job, and these are no-ops.
  virtual bool claims_items() const { return false; }
  // Claims those of `items` that no other owner holds (or whose claim expired), and renews the
  // caller's own, for `ttl` by the store's clock; returns the items now held by `owner`.
  virtual std::vector<std::string> claim(const std::string& job, const std::string& owner,
                                         const std::vector<std::string>& items, core::Millis ttl) {
    (void)job, (void)owner, (void)ttl;
    return items;
  }
  // Extends `owner`'s claim on `item` by `ttl` from the store's clock, only while that claim is
  // still live: false when it ran out (another owner may have taken the item, handled it and
  // given it back since, so what the caller read about it is stale) or is held by another.
  virtual bool renew_claim(const std::string& job, const std::string& owner,
                           const std::string& item, core::Millis ttl) {
    (void)job, (void)owner, (void)item, (void)ttl;
    return true;
  }
  // Gives up `owner`'s claim on `item`, or on every item of `job` when `item` is empty.
  virtual void release_claims(const std::string& job, const std::string& owner,
                              const std::string& item) {
    (void)job, (void)owner, (void)item;
  }
};

class LoginRepository {
 public:
  virtual ~LoginRepository() = default;
  // False when the code is live for someone else.
  virtual bool save(const std::string& code, const std::string& openid, core::UtcMs expires_at,
                    core::UtcMs now) = 0;
  // Consumes a live code; returns its openid.
  virtual std::optional<std::string> redeem(const std::string& code, core::UtcMs now) = 0;
};

// A list and the change stamp it was read at, from one consistent read of the database: a
// change made after the read bumps the stamp past `version`, so a poller never misses it.
struct VersionedList {
  std::int64_t version = 0;
  std::vector<std::string> items;
};

class WordRepository {
 public:
  virtual ~WordRepository() = default;
  virtual int add(const std::vector<std::string>& words, core::UtcMs now) = 0;  // newly added
  virtual bool remove(const std::string& word) = 0;
  virtual std::vector<std::string> list() = 0;
  virtual std::int64_t version() = 0;  // bumps on every change
  virtual VersionedList snapshot() = 0;
};

class WhitelistRepository {
 public:
  virtual ~WhitelistRepository() = default;
  virtual bool add(const std::string& openid, core::UtcMs now) = 0;
  virtual bool remove(const std::string& openid) = 0;
  virtual std::vector<std::string> list() = 0;
  virtual std::int64_t version() = 0;
  virtual VersionedList snapshot() = 0;
};

class NotifyRepository {
 public:
  virtual ~NotifyRepository() = default;
  virtual NotifySaveOutcome save(const NotifyRecord& record) = 0;
  virtual std::optional<NotifyRecord> get(const std::string& notify_id) = 0;
  virtual std::int64_t count() = 0;
};

// The usage log (schema chat_log). Rows are appended once per chat, after it ended, and
// removed only by prune(); nothing else changes them.
class ChatLogRepository {
 public:
  virtual ~ChatLogRepository() = default;
  virtual void append(const ChatLogEntry& entry) = 0;
  virtual std::vector<UsageRow> usage(const UsageQuery& query) = 0;
  // Times to first token (ms) of answered chats started since `since`, ascending, at most
  // `limit` (the newest when there are more).
  virtual std::vector<std::int64_t> first_token_times(core::UtcMs since, int limit) = 0;
  // Deletes at most `limit` of the oldest rows started before `before`; returns how many.
  virtual std::int64_t prune(core::UtcMs before, int limit) = 0;
  // Rows started before `before`: how many, and the oldest start.
  virtual OrderRepository::Backlog backlog(core::UtcMs before) = 0;
};

// Read-only sums for the admin dashboard.
class ReportRepository {
 public:
  virtual ~ReportRepository() = default;
  // Confirmed payments (pay_time) since `since`, per Beijing day, ascending.
  virtual std::vector<DayAmount> paid_by_day(core::UtcMs since) = 0;
  virtual OrderFunnel funnel(core::UtcMs since) = 0;
  // The newest notifies whose verdict was not "ok", newest first (raw bodies left out).
  virtual std::vector<NotifyRecord> rejected_notifies(int limit) = 0;
};

// Budgets that several nodes must count once (chat rate limit, free chats, failed logins, WeChat
// nonces): fixed windows keyed by (name, key), as http::WindowCounter keeps them in memory for
// one process.
class SharedCounterRepository {
 public:
  virtual ~SharedCounterRepository() = default;
  // Counts one for (name, key) when its window (started by its first count, `window` long) holds
  // fewer than `limit`; false (nothing counted) otherwise.
  bool take(const std::string& name, const std::string& key, core::UtcMs now, core::Millis window,
            int limit) {
    return take_counted(name, key, now, window, limit).has_value();
  }
  // take() that also says which window counted it: that window's start, what give_back needs.
  virtual std::optional<core::UtcMs> take_counted(const std::string& name, const std::string& key,
                                                  core::UtcMs now, core::Millis window,
                                                  int limit) = 0;
  // Undoes one count of the window that started at `window_start` (a free chat that failed
  // before its first token), only while that window is still the current one: a later window
  // never had it.
  virtual void give_back(const std::string& name, const std::string& key,
                         core::UtcMs window_start) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual ProductRepository& products() = 0;
  virtual AccountRepository& accounts() = 0;
  virtual OrderRepository& orders() = 0;
  virtual RefundRepository& refunds() = 0;
  virtual JobRepository& jobs() = 0;
  virtual LoginRepository& logins() = 0;
  virtual WordRepository& words() = 0;
  virtual WhitelistRepository& whitelist() = 0;
  virtual NotifyRepository& notifies() = 0;
  // Added with the usage log; a backend without them throws, and the chat log's writes (on the
  // group committer) and the dashboard's reads then fail alone.
  virtual ChatLogRepository& chat_log() { throw std::logic_error("this store keeps no chat log"); }
  virtual ReportRepository& reports() { throw std::logic_error("this store has no reports"); }

  // Counters shared by every node on this store; null: the backend serves one process (SQLite)
  // and the counters stay in its memory.
  virtual SharedCounterRepository* shared_counters() { return nullptr; }
  // Cheap check for /readyz.
  virtual bool healthy() = 0;
  // Commits a one-row write (the readiness probe): throws what the store reports when it cannot
  // take one (a read-only file, a full disk). A backend without it is never reported ready.
  virtual void write_probe(core::UtcMs now) {
    (void)now;
    throw std::logic_error("this store has no write probe");
  }
  // Runs `body` inside one write transaction: repository calls made by it (on this thread)
  // join it and commit together, each as its own savepoint. If `body` throws, nothing of it is
  // kept and the exception propagates.
  virtual void in_transaction(const std::function<void()>& body) = 0;
};

}  // namespace chatglmd::store
