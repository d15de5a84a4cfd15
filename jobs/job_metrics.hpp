#pragma once
// Job and delivery metrics, pre-registered for every job so a quiet job reads 0, not absent.
#include <string_view>
#include <vector>

#include "metrics/metrics.hpp"

namespace chatglmd::jobs {

class JobMetrics {
 public:
  explicit JobMetrics(metrics::Registry& registry);
  static JobMetrics& global();  // on metrics::default_registry()

  void preregister(std::string_view job);
  metrics::Counter& runs(std::string_view job, std::string_view outcome);
  metrics::Counter& items(std::string_view job, std::string_view outcome);
  metrics::Counter& lease(std::string_view job, std::string_view result);
  metrics::Histogram& tick_seconds(std::string_view job);
  metrics::Gauge& backlog(std::string_view job);
  metrics::Gauge& oldest_due_seconds(std::string_view job);
  metrics::Counter& deliveries(std::string_view cause);
  // `action`: deliver or refund, as [alipay] late_payment says.
  metrics::Counter& late_payments(std::string_view action);
  // `outcome`: succeeded, failed (for good), unclear (left for the refund-query job), or
  // succeeded_after_failure (Alipay confirmed one recorded failed: settle it by hand).
  metrics::Counter& refunds(std::string_view outcome);
  metrics::Counter& refunded_fen();

 private:
  metrics::CounterFamily& runs_;
  metrics::CounterFamily& items_;
  metrics::CounterFamily& lease_;
  metrics::HistogramFamily& tick_;
  metrics::GaugeFamily& backlog_;
  metrics::GaugeFamily& oldest_;
  metrics::CounterFamily& deliveries_;
  metrics::CounterFamily& late_;
  metrics::CounterFamily& refunds_;
  metrics::CounterFamily& refunded_fen_;
};

}  // namespace chatglmd::jobs
