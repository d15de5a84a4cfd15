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
  metrics::Counter& late_payments();

 private:
  metrics::CounterFamily& runs_;
  metrics::CounterFamily& items_;
  metrics::CounterFamily& lease_;
  metrics::HistogramFamily& tick_;
  metrics::GaugeFamily& backlog_;
  metrics::GaugeFamily& oldest_;
  metrics::CounterFamily& deliveries_;
  metrics::CounterFamily& late_;
};

}  // namespace chatglmd::jobs
