#include "core/refund.hpp"

#include <algorithm>

namespace chatglmd::core {

std::string_view name_of(RefundStatus s) {
  switch (s) {
    case RefundStatus::Requested:
      return "requested";
    case RefundStatus::Succeeded:
      return "succeeded";
    case RefundStatus::Failed:
      return "failed";
  }
  return "requested";
}

std::optional<RefundStatus> parse_refund_status(std::string_view text) {
  for (RefundStatus s : {RefundStatus::Requested, RefundStatus::Succeeded, RefundStatus::Failed})
    if (text == name_of(s)) return s;
  return std::nullopt;
}

std::string_view name_of(LatePaymentPolicy p) {
  return p == LatePaymentPolicy::Refund ? "refund" : "deliver";
}

std::optional<LatePaymentPolicy> parse_late_payment_policy(std::string_view text) {
  if (text == "deliver") return LatePaymentPolicy::Deliver;
  if (text == "refund") return LatePaymentPolicy::Refund;
  return std::nullopt;
}

std::string refund_request_no(std::string_view order_id) {
  return "RF" + std::string(order_id);
}

std::int64_t quota_to_revoke(std::int64_t order_quota, std::int64_t surplus_quota) {
  return std::max<std::int64_t>(0, std::min(order_quota, surplus_quota));
}

}  // namespace chatglmd::core
