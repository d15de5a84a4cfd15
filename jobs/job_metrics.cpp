#include "jobs/job_metrics.hpp"

#include <string>

namespace chatglmd::jobs {

JobMetrics::JobMetrics(metrics::Registry& r)
    : runs_(r.counter("chatglmd_job_runs_total", "Job ticks by outcome", {"job", "outcome"})),
      items_(r.counter("chatglmd_job_items_total", "Orders handled by jobs, by outcome",
                       {"job", "outcome"})),
      lease_(r.counter("chatglmd_job_lease_total",
                       "Lease attempts: acquired or skipped (held elsewhere)", {"job", "result"})),
      tick_(r.histogram("chatglmd_job_tick_seconds", "Duration of one job tick", {"job"})),
      backlog_(r.gauge("chatglmd_job_backlog", "Orders due for the job at the end of its last tick",
                       {"job"})),
      oldest_(r.gauge("chatglmd_job_oldest_due_seconds",
                      "Age of the oldest order due for the job at the end of its last tick",
                      {"job"})),
      deliveries_(r.counter("chatglmd_deliveries_total", "Orders delivered, by cause", {"cause"})),
      late_(r.counter("chatglmd_late_payment_total",
                      "Payments confirmed for orders that had been closed, by action", {"action"})),
      refunds_(r.counter("chatglmd_refunds_total", "Refund decisions and unclear attempts",
                         {"outcome"})),
      refunded_fen_(
          r.counter("chatglmd_refunded_fen_total", "Money Alipay confirmed refunded, in fen")) {
  for (const char* action : {"deliver", "refund"}) late_.labels({action});
  for (const char* outcome : {"succeeded", "failed", "unclear", "succeeded_after_failure"})
    refunds_.labels({outcome});
  refunded_fen_.get();
  for (const char* cause : {"notify", "reconcile", "timeout-close", "admin", "replenish-shipment"})
    deliveries_.labels({cause});
}

JobMetrics& JobMetrics::global() {
  static JobMetrics m(metrics::default_registry());
  return m;
}

void JobMetrics::preregister(std::string_view job) {
  for (const char* o : {"ok", "partial", "skipped", "failed"}) runs(job, o);
  for (const char* o : {"done", "unclear", "skipped"}) items(job, o);
  lease(job, "acquired");
  lease(job, "skipped");
  tick_seconds(job);
  backlog(job);
  oldest_due_seconds(job);
}

metrics::Counter& JobMetrics::runs(std::string_view job, std::string_view outcome) {
  return runs_.labels({job, outcome});
}
metrics::Counter& JobMetrics::items(std::string_view job, std::string_view outcome) {
  return items_.labels({job, outcome});
}
metrics::Counter& JobMetrics::lease(std::string_view job, std::string_view result) {
  return lease_.labels({job, result});
}
metrics::Histogram& JobMetrics::tick_seconds(std::string_view job) {
  return tick_.labels({job});
}
metrics::Gauge& JobMetrics::backlog(std::string_view job) {
  return backlog_.labels({job});
}
metrics::Gauge& JobMetrics::oldest_due_seconds(std::string_view job) {
  return oldest_.labels({job});
}
metrics::Counter& JobMetrics::deliveries(std::string_view cause) {
  return deliveries_.labels({cause});
}
metrics::Counter& JobMetrics::late_payments(std::string_view action) {
  return late_.labels({action});
}
metrics::Counter& JobMetrics::refunds(std::string_view outcome) {
  return refunds_.labels({outcome});
}
metrics::Counter& JobMetrics::refunded_fen() {
  return refunded_fen_.get();
}

}  // namespace chatglmd::jobs
