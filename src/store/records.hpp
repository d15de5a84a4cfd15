#pragma once
// Plain rows the repositories read and write. Money is Fen, time is UtcMs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/money.hpp"
#include "core/order.hpp"
#include "core/refund.hpp"
#include "core/state_machine.hpp"
#include "core/time.hpp"

namespace chatglmd::store {

struct Product {
  std::int64_t product_id = 0;
  std::string name;
  std::string desc;
  std::int64_t quota = 0;
  core::Fen price;
  std::string model_types;  // comma-separated, e.g. "glm-4,glm-3-turbo"
  bool enabled = true;
  int sort = 0;
};

enum class AccountStatus : int { Ok = 0, Frozen = 1 };

struct Account {
  std::string openid;
  std::int64_t total_quota = 0;
  std::int64_t surplus_quota = 0;
  std::string model_types;
  AccountStatus status = AccountStatus::Ok;
};

struct OrderEventRow {
  std::string order_id;
  std::optional<core::OrderState> from;
  core::OrderState to;
  std::string cause;
  std::string detail;
  core::UtcMs at;
};

struct OrderFilter {
  std::optional<core::OrderState> state;
  std::optional<std::string> openid;
  int limit = 100;
};

// What the store did with an event.
enum class TransitionOutcome {
  Applied,   // compare-and-set won; audit row written
  Refused,   // the state machine does not allow this event from the current state
  LostRace,  // the state changed between read and write (cannot happen inside one IMMEDIATE txn,
             // kept for backends that claim rows optimistically)
  UnknownOrder,
};

struct TransitionResult {
  TransitionOutcome outcome = TransitionOutcome::UnknownOrder;
  core::OrderState state = core::OrderState::Created;  // the state after the call
  bool late_payment = false;
};

struct PaymentFacts {
  std::string trade_no;
  core::UtcMs paid_at;
};

enum class DeliveryOutcome {
  Delivered,         // quota granted and order moved to DELIVERED now
  AlreadyDelivered,  // nothing done: it was delivered before
  NotPaid,           // order is CREATED or CLOSED: nothing to deliver
  UnknownOrder,
  RefundPending,  // a refund of the order is under way: its money is going back, not delivered
};

// An order closed here on ACQ.TRADE_NOT_EXIST: Alipay could still create its trade until
// time_expire, so the close-followup job asks about it again.
struct CloseFollowup {
  std::string order_id;
  core::UtcMs time_expire;
  core::UtcMs closed_at;
  core::UtcMs next_query_at;
  int queries_done = 0;
  bool pending = true;  // false: never asked again
  std::string last_answer;
};

struct JobRunRow {
  std::int64_t id = 0;
  std::string name;
  std::string owner;
  core::UtcMs started_at;
  core::UtcMs finished_at;
  std::string outcome;  // "ok", "partial", "failed", "skipped"
  int selected = 0;
  int succeeded = 0;
  int failed = 0;
  int skipped = 0;
  std::string detail;
};

struct NotifyRecord {
  std::string notify_id;
  std::string out_trade_no;
  std::string trade_status;
  std::string verdict;  // "ok", "bad_signature", "wrong_amount", ...
  std::string raw_body;
  core::UtcMs received_at;
};

enum class NotifySaveOutcome { Inserted, Duplicate };

// One full refund of an order (schema/003_refund.sql).
struct Refund {
  std::int64_t id = 0;
  std::string refund_id;  // the out_request_no sent to Alipay
  std::string order_id;
  core::Fen amount;
  std::string reason;
  std::string cause;  // who asked: admin, late-payment
  core::RefundStatus status = core::RefundStatus::Requested;
  std::int64_t quota_revoked = 0;  // taken from the account when requested; given back on failure
  int attempts = 0;
  core::UtcMs next_attempt_at;
  std::string last_error;
  core::UtcMs requested_at;
  std::optional<core::UtcMs> decided_at;
};

enum class RefundRequestOutcome {
  Requested,         // refund row written and quota revoked now
  AlreadyRequested,  // the order has a refund already (any status): never a second one
  NotRefundable,     // the order is CREATED, CLOSED or REFUNDED: no money to give back
  UnknownOrder,
};

struct RefundRequestResult {
  RefundRequestOutcome outcome = RefundRequestOutcome::UnknownOrder;
  core::OrderState state = core::OrderState::Created;  // the order's state
  std::optional<Refund> refund;                        // the order's refund, when it has one
};

enum class RefundDecision {
  Applied,         // decided now (order REFUNDED, or quota given back)
  AlreadyDecided,  // decided before: nothing done
  // confirm() of a refund recorded as failed (its quota given back): money moved after all.
  // Nothing changes but an audit row; a person must settle the account.
  ConfirmedAfterFailure,
  UnknownRefund,
};

// One chat request in the usage log (schema chat_log), written when the chat ended.
struct ChatLogEntry {
  std::string openid;
  std::string model;
  std::string endpoint;  // "original" (/api/v1/chatgpt/...) or "openai" (/v1/...)
  core::UtcMs started_at;
  std::optional<std::int64_t> ttft_ms;  // none: no text reached the user
  std::int64_t duration_ms = 0;
  std::optional<std::int64_t> prompt_tokens;  // none: the upstream reported no usage
  std::optional<std::int64_t> completion_tokens;
  // "ok", "cancelled" (the client left), "upstream:<kind>" (llm::to_string of the error) or
  // "refused:<check>" (rate_limit, frozen, model, quota, bad_request, unavailable).
  std::string outcome;
};

enum class UsageGrouping { Day, Model, User, DayModel };

// Usage since `since`, optionally of one user, grouped; days are Beijing days (UTC+8, as
// Alipay's), keyed "YYYY-MM-DD". Rows come ordered by key (day, model, day then model) or by
// chats, most first (user), at most `limit` rows.
struct UsageQuery {
  core::UtcMs since;
  std::string openid;  // empty: everyone
  UsageGrouping by = UsageGrouping::Day;
  int limit = 1000;
};

struct UsageRow {
  std::string key;            // the day, model or openid
  std::string model;          // DayModel only: the model of that day's row
  std::int64_t chats = 0;     // every logged request, refused ones included
  std::int64_t answered = 0;  // outcome ok
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

// Sums for the dashboard (read-only, over openai_order, refund and order_event).
struct DayAmount {
  std::string day;  // Beijing day "YYYY-MM-DD"
  std::int64_t orders = 0;
  core::Fen amount;
};

// Orders placed since a time, by how far they got.
struct OrderFunnel {
  std::int64_t created = 0;        // placed
  std::int64_t paid = 0;           // a payment confirmed (whatever happened next)
  std::int64_t delivered = 0;      // DELIVERED now
  std::int64_t closed = 0;         // CLOSED now
  std::int64_t late_payments = 0;  // paid after they were closed
  std::int64_t refunds_requested = 0;
  std::int64_t refunded = 0;  // REFUNDED now
};

}  // namespace chatglmd::store
