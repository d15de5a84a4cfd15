#pragma once
// PostgreSQL repositories, the twins of sqlite_repos.hpp. Each call takes the connection's mutex
// for its whole duration, so one Store object is safe to share between threads, as with SQLite.
// Processes (nodes) coordinate through row locks at READ COMMITTED: every read-then-write first
// locks the rows it decides on (SELECT ... FOR UPDATE), which is what SQLite's BEGIN IMMEDIATE
// gives for the whole file, and every transition stays a compare-and-set
// (UPDATE ... WHERE order_status = $expected, checked by its row count). Row locks rather than
// SERIALIZABLE + retry: a retry loop would have to re-run the caller's non-database work (a
// group-commit unit, a reply), while a lock wait keeps each call's outcome final.
#include "store/pg_conn.hpp"
#include "store/store.hpp"

namespace chatglmd::store {

// Bookkeeping stamps only (sqlite_db.cpp); every decision uses the injected clock.
std::int64_t wall_clock_ms();

class PgProducts final : public ProductRepository {
 public:
  explicit PgProducts(PgConn& db) : db_(db) {}
  std::vector<Product> list(bool enabled_only) override;
  std::optional<Product> get(std::int64_t product_id) override;
  bool add(const Product& product) override;
  bool set_enabled(std::int64_t product_id, bool enabled) override;
  std::int64_t version() override;
  VersionedProducts snapshot() override;

 private:
  PgConn& db_;
};

class PgAccounts final : public AccountRepository {
 public:
  explicit PgAccounts(PgConn& db) : db_(db) {}
  std::optional<Account> get(const std::string& openid) override;
  bool create(const Account& account) override;
  void grant(const std::string& openid, std::int64_t quota, const std::string& models) override;
  bool set_status(const std::string& openid, AccountStatus status) override;
  Charge consume_one(const std::string& openid) override;
  void refund_one(const std::string& openid) override;

 private:
  PgConn& db_;
};

// Shared by accounts and orders: delivery grants quota inside the order's transaction.
void grant_locked(PgConn& db, const std::string& openid, std::int64_t quota,
                  const std::string& models, std::int64_t now_ms);
std::string merge_models(const std::string& have, const std::string& add);

// Shared by orders and refunds: one append-only audit row, inside the caller's transaction.
void append_order_event(PgConn& db, const std::string& order_id,
                        std::optional<core::OrderState> from, core::OrderState to,
                        core::Cause cause, const std::string& detail, core::UtcMs now);

class PgOrders final : public OrderRepository {
 public:
  explicit PgOrders(PgConn& db) : db_(db) {}
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
  PgConn& db_;
};

class PgRefunds final : public RefundRepository {
 public:
  explicit PgRefunds(PgConn& db) : db_(db) {}
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
  PgConn& db_;
};

class PgJobs final : public JobRepository {
 public:
  explicit PgJobs(PgConn& db) : db_(db) {}
  bool try_acquire(const std::string& name, const std::string& owner, core::UtcMs now,
                   core::UtcMs expires_at) override;
  void release(const std::string& name, const std::string& owner) override;
  std::int64_t record_run(const JobRunRow& run) override;
  std::vector<JobRunRow> history(const std::string& name, int limit) override;
  std::optional<JobRunRow> last_run(const std::string& name) override;
  bool claims_items() const override { return true; }
  std::vector<std::string> claim(const std::string& job, const std::string& owner,
                                 const std::vector<std::string>& items, core::Millis ttl) override;
  bool renew_claim(const std::string& job, const std::string& owner, const std::string& item,
                   core::Millis ttl) override;
  void release_claims(const std::string& job, const std::string& owner,
                      const std::string& item) override;

 private:
  PgConn& db_;
};

class PgLogins final : public LoginRepository {
 public:
  explicit PgLogins(PgConn& db) : db_(db) {}
  bool save(const std::string& code, const std::string& openid, core::UtcMs expires_at,
            core::UtcMs now) override;
  std::optional<std::string> redeem(const std::string& code, core::UtcMs now) override;

 private:
  PgConn& db_;
};

class PgWords final : public WordRepository {
 public:
  explicit PgWords(PgConn& db) : db_(db) {}
  int add(const std::vector<std::string>& words, core::UtcMs now) override;
  bool remove(const std::string& word) override;
  std::vector<std::string> list() override;
  std::int64_t version() override;
  VersionedList snapshot() override;

 private:
  PgConn& db_;
};

class PgWhitelist final : public WhitelistRepository {
 public:
  explicit PgWhitelist(PgConn& db) : db_(db) {}
  bool add(const std::string& openid, core::UtcMs now) override;
  bool remove(const std::string& openid) override;
  std::vector<std::string> list() override;
  std::int64_t version() override;
  VersionedList snapshot() override;

 private:
  PgConn& db_;
};

class PgNotifies final : public NotifyRepository {
 public:
  explicit PgNotifies(PgConn& db) : db_(db) {}
  NotifySaveOutcome save(const NotifyRecord& record) override;
  std::optional<NotifyRecord> get(const std::string& notify_id) override;
  std::int64_t count() override;

 private:
  PgConn& db_;
};

class PgSharedCounters final : public SharedCounterRepository {
 public:
  explicit PgSharedCounters(PgConn& db) : db_(db) {}
  std::optional<core::UtcMs> take_counted(const std::string& name, const std::string& key,
                                          core::UtcMs now, core::Millis window, int limit) override;
  void give_back(const std::string& name, const std::string& key,
                 core::UtcMs window_start) override;

 private:
  static constexpr std::uint64_t kSweepEvery = 1024;
  PgConn& db_;
  std::uint64_t takes_ = 0;
};

class PgChatLog final : public ChatLogRepository {
 public:
  explicit PgChatLog(PgConn& db) : db_(db) {}
  void append(const ChatLogEntry& entry) override;
  std::vector<UsageRow> usage(const UsageQuery& query) override;
  std::vector<std::int64_t> first_token_times(core::UtcMs since, int limit) override;
  std::int64_t prune(core::UtcMs before, int limit) override;
  OrderRepository::Backlog backlog(core::UtcMs before) override;

 private:
  PgConn& db_;
};

class PgReports final : public ReportRepository {
 public:
  explicit PgReports(PgConn& db) : db_(db) {}
  std::vector<DayAmount> paid_by_day(core::UtcMs since) override;
  OrderFunnel funnel(core::UtcMs since) override;
  std::vector<NotifyRecord> rejected_notifies(int limit) override;

 private:
  PgConn& db_;
};

// Bumps the change counter of a cached table inside the caller's transaction.
void bump_change_stamp(PgConn& db, const char* name);
std::int64_t read_change_stamp(PgConn& db, const char* name);

}  // namespace chatglmd::store
