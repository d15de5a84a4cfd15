#pragma once
// Sending a refund and deciding it, shared by the admin `order refund` and the refund-query job
// (the late-payment policy only requests one; the job sends it). A refund row is committed with
// the quota revocation BEFORE Alipay is called, so a crash at any point leaves a `requested`
// refund that the job finishes with the same out_request_no.
#include <string>

#include "jobs/job.hpp"
#include "store/records.hpp"

namespace chatglmd::jobs {

// Calls alipay.trade.refund for a requested refund (first time or resend: the same
// out_request_no) and acts on the answer: confirmed -> REFUNDED; fund_change N -> ask the refund
// query; refused for good -> failed and the quota given back; unclear -> left requested.
ItemResult send_refund(JobContext& ctx, const store::Refund& refund, core::Cause cause);

// The refund-query job's step: asks Alipay about the refund; REFUND_SUCCESS -> REFUNDED; Alipay
// knows no such refund (never received, e.g. a crash before the call) -> sends it again.
ItemResult settle_refund(JobContext& ctx, const store::Refund& refund, core::Cause cause);

// What settle_refund would do, asking the gateway only (for --dry-run).
ItemResult describe_refund_for_dry_run(JobContext& ctx, const store::Refund& refund);

}  // namespace chatglmd::jobs
