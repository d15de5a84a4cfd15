#pragma once
// Refunds as plain values: the status of a refund request, what to do with a late payment, and
// how much quota a refund can take back.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatglmd::core {

// Stored as text in refund.status.
enum class RefundStatus {
  Requested,  // the row and the quota revocation are committed; Alipay's answer is pending
  Succeeded,  // Alipay confirmed the money went back; the order is REFUNDED
  Failed,     // Alipay refused for good; the revoked quota went back to the account
};

std::string_view name_of(RefundStatus s);
std::optional<RefundStatus> parse_refund_status(std::string_view text);

// [alipay] late_payment: what a confirmed payment on a CLOSED order turns into.
enum class LatePaymentPolicy { Deliver, Refund };

std::string_view name_of(LatePaymentPolicy p);
std::optional<LatePaymentPolicy> parse_late_payment_policy(std::string_view text);

// The out_request_no of an order's refund. One full refund per order, so it is derived from
// the order id: every retry, by any process, after any crash, sends the same one, which is what
// makes Alipay treat a resend as the same refund.
std::string refund_request_no(std::string_view order_id);

// Quota a refund takes back from an account: the order's quota, but never more than is left
// (chats already spent cannot be taken back).
std::int64_t quota_to_revoke(std::int64_t order_quota, std::int64_t surplus_quota);

}  // namespace chatglmd::core
