#pragma once
// SQLite repositories. Each call takes the connection's mutex for its whole duration, so one
// Store object is safe to share between threads; several processes coordinate through
// SQLite's own locks (WAL + busy_timeout + BEGIN IMMEDIATE).
#include "store/sqlite_db.hpp"
#include "store/store.hpp"

namespace chatglmd::store {

class SqliteProducts final : public ProductRepository {
 public:
  explicit SqliteProducts(Db& db) : db_(db) {}
  std::vector<Product> list(bool enabled_only) override;
  std::optional<Product> get(std::int64_t product_id) override;
  bool add(const Product& product) override;
  bool set_enabled(std::int64_t product_id, bool enabled) override;
  std::int64_t version() override;
  VersionedProducts snapshot() override;

 private:
  Db& db_;
};

class SqliteAccounts final : public AccountRepository {
 public:
  explicit SqliteAccounts(Db& db) : db_(db) {}
  std::optional<Account> get(const std::string& openid) override;
  bool create(const Account& account) override;
  void grant(const std::string& openid, std::int64_t quota, const std::string& models) override;
  bool set_status(const std::string& openid, AccountStatus status) override;
  Charge consume_one(const std::string& openid) override;
  void refund_one(const std::string& openid) override;
  std::optional<std::int64_t> version() override;

 private:
  Db& db_;
};

// Shared by accounts and orders: delivery grants quota inside the order's transaction.
void grant_locked(Db& db, const std::string& openid, std::int64_t quota, const std::string& models,
                  std::int64_t now_ms);
std::string merge_models(const std::string& have, const std::string& add);

// Shared by orders and refunds: one append-only audit row, inside the caller's transaction.
void append_order_event(Db& db, const std::string& order_id, std::optional<core::OrderState> from,
                        core::OrderState to, core::Cause cause, const std::string& detail,
                        core::UtcMs now);

class SqliteOrders final : public OrderRepository {
 public:
  explicit SqliteOrders(Db& db) : db_(db) {}
  bool insert(const core::Order& order, core::UtcMs now) override;
  std::optional<core::Order> get(const std::string& order_id) override;
  std::vector<core::Order> list(const OrderFilter& filter) override;
  std::optional<core::Order> find_reusable(const std::string& openid, std::int64_t product_id,
                                           core::UtcMs not_before) override;
  void set_pay_info(const std::string& order_id, const std::string& pay_info,
                    core::UtcMs now) override;
  TransitionResult apply(const std::string& order_id, core::OrderEvent event, core::Cause cause,
                         const std::string& detail, core::UtcMs now,
                         const std::optional<PaymentFacts>& payment) override;
  DeliveryOutcome deliver(const std::string& order_id, core::Cause cause, core::UtcMs now) override;
  std::optional<DeliveryOutcome> pay_and_deliver_created(const core::Order& order,
                                                         core::Cause cause,
                                                         const std::string& detail, core::UtcMs now,
                                                         const PaymentFacts& payment) override;
  std::vector<core::Order> due_created(core::UtcMs placed_from, core::UtcMs placed_until,
                                       core::UtcMs now, std::int64_t after_id, int limit) override;
  std::vector<core::Order> due_paid(core::UtcMs paid_until, core::UtcMs now, std::int64_t after_id,
                                    int limit) override;
  Backlog backlog_created(core::UtcMs placed_from, core::UtcMs placed_until) override;
  Backlog backlog_paid(core::UtcMs paid_until) override;
  void add_close_followup(const std::string& order_id, core::UtcMs time_expire,
                          core::UtcMs closed_at) override;
  std::vector<core::Order> due_close_followups(core::UtcMs due_until, core::UtcMs now,
                                               std::int64_t after_id, int limit) override;
  Backlog backlog_close_followups(core::UtcMs due_until) override;
  void record_close_followup(const std::string& order_id, const std::string& answer,
                             std::optional<core::UtcMs> next) override;
  std::optional<CloseFollowup> close_followup(const std::string& order_id) override;
  void record_failure(const std::string& order_id, core::OrderState expected,
                      const std::string& error, core::UtcMs next_attempt_at) override;
  std::vector<OrderEventRow> events(const std::string& order_id) override;
  std::vector<std::string> due_query_plans() override;

 private:
  std::optional<core::OrderState> state_locked(const std::string& order_id);
  void audit_locked(const std::string& order_id, std::optional<core::OrderState> from,
                    core::OrderState to, core::Cause cause, const std::string& detail,
                    core::UtcMs now);
  Db& db_;
};

class SqliteRefunds final : public RefundRepository {
 public:
  explicit SqliteRefunds(Db& db) : db_(db) {}
  RefundRequestResult request(const std::string& order_id, const std::string& reason,
                              core::Cause cause, core::UtcMs now,
                              core::UtcMs next_attempt_at) override;
  std::optional<Refund> get(const std::string& order_id) override;
  RefundDecision confirm(const std::string& order_id, core::Cause cause, const std::string& detail,
                         core::UtcMs now) override;
  RefundDecision fail(const std::string& order_id, core::Cause cause, const std::string& detail,
                      core::UtcMs now) override;
  void record_failure(const std::string& order_id, const std::string& error,
                      core::UtcMs next_attempt_at) override;
  std::vector<Refund> due(core::UtcMs requested_until, core::UtcMs now, std::int64_t after_id,
                          int limit) override;
  OrderRepository::Backlog backlog(core::UtcMs requested_until) override;
  std::int64_t count(core::RefundStatus status) override;

 private:
  std::optional<Refund> get_locked(const std::string& order_id);
  Db& db_;
};

class SqliteJobs final : public JobRepository {
 public:
  explicit SqliteJobs(Db& db) : db_(db) {}
  bool try_acquire(const std::string& name, const std::string& owner, core::UtcMs now,
                   core::UtcMs expires_at) override;
  void release(const std::string& name, const std::string& owner) override;
  std::int64_t record_run(const JobRunRow& run) override;
  std::vector<JobRunRow> history(const std::string& name, int limit) override;
  std::optional<JobRunRow> last_run(const std::string& name) override;

 private:
  Db& db_;
};

class SqliteLogins final : public LoginRepository {
 public:
  explicit SqliteLogins(Db& db) : db_(db) {}
  bool save(const std::string& code, const std::string& openid, core::UtcMs expires_at,
            core::UtcMs now) override;
  std::optional<std::string> redeem(const std::string& code, core::UtcMs now) override;

 private:
  Db& db_;
};

class SqliteWords final : public WordRepository {
 public:
  explicit SqliteWords(Db& db) : db_(db) {}
  int add(const std::vector<std::string>& words, core::UtcMs now) override;
  bool remove(const std::string& word) override;
  std::vector<std::string> list() override;
  std::int64_t version() override;
  VersionedList snapshot() override;

 private:
  Db& db_;
};

class SqliteWhitelist final : public WhitelistRepository {
 public:
  explicit SqliteWhitelist(Db& db) : db_(db) {}
  bool add(const std::string& openid, core::UtcMs now) override;
  bool remove(const std::string& openid) override;
  std::vector<std::string> list() override;
  std::int64_t version() override;
  VersionedList snapshot() override;

 private:
  Db& db_;
};

class SqliteNotifies final : public NotifyRepository {
 public:
  explicit SqliteNotifies(Db& db) : db_(db) {}
  NotifySaveOutcome save(const NotifyRecord& record) override;
  std::optional<NotifyRecord> get(const std::string& notify_id) override;
  std::int64_t count() override;

 private:
  Db& db_;
};

class SqliteChatLog final : public ChatLogRepository {
 public:
  explicit SqliteChatLog(Db& db) : db_(db) {}
  void append(const ChatLogEntry& entry) override;
  std::vector<UsageRow> usage(const UsageQuery& query) override;
  std::vector<std::int64_t> first_token_times(core::UtcMs since, int limit) override;
  std::int64_t prune(core::UtcMs before, int limit) override;
  OrderRepository::Backlog backlog(core::UtcMs before) override;

 private:
  Db& db_;
};

class SqliteReports final : public ReportRepository {
 public:
  explicit SqliteReports(Db& db) : db_(db) {}
  std::vector<DayAmount> paid_by_day(core::UtcMs since) override;
  OrderFunnel funnel(core::UtcMs since) override;
  std::vector<NotifyRecord> rejected_notifies(int limit) override;

 private:
  Db& db_;
};

// Bumps the change counter of a cached table inside the caller's transaction.
void bump_change_stamp(Db& db, const char* name);
std::int64_t read_change_stamp(Db& db, const char* name);

}  // namespace chatglmd::store
