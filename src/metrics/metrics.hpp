#pragma once
// Prometheus counters, gauges and histograms with labels. Look a series up once (it takes a lock),
// keep the reference, and update it on the hot path with relaxed atomics only; series live as long
// as their registry, so the references never dangle.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace chatglmd::metrics {

using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1.0) { value_.fetch_sub(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Keeps a gauge up by one for its lifetime (an open connection, an open stream).
class GaugeGuard {
 public:
  explicit GaugeGuard(Gauge& g) : gauge_(&g) { gauge_->inc(); }
  ~GaugeGuard() {
    if (gauge_) gauge_->dec();
  }
  GaugeGuard(GaugeGuard&& o) noexcept : gauge_(o.gauge_) { o.gauge_ = nullptr; }
  GaugeGuard(const GaugeGuard&) = delete;
  GaugeGuard& operator=(const GaugeGuard&) = delete;
  GaugeGuard& operator=(GaugeGuard&&) = delete;

 private:
  Gauge* gauge_;
};

class Histogram {
 public:
  // Upper bounds, ascending; the +Inf bucket is implicit.
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Per-bucket (not cumulative) counts; the last one is the +Inf bucket.
  std::vector<std::uint64_t> bucket_counts() const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

// Latency buckets in seconds, from 1 ms (a cached answer) to 60 s (a long chat stream).
inline const std::vector<double> kLatencyBuckets{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                 0.5,   1,     2.5,  5,     10,   30,  60};

enum class Kind { counter, gauge, histogram };

// One metric name with its label names; each distinct set of label values is one series.
template <class Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  // The series for these label values (as many as label names), created at 0 on first use.
  // Call it once per series and keep the reference; a wrong number of values is a bug (throws).
  Series& labels(const LabelValues& values);
  Series& labels(std::initializer_list<std::string_view> values) {
    return labels(LabelValues(values.begin(), values.end()));
  }
  // The single series of a family without labels.
  Series& get() { return labels(LabelValues{}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls fn(values, series) for each series in label order, under the family lock.
  template <class Fn>
  void for_each(Fn&& fn) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, series] : series_) fn(values, *series);
  }

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<LabelValues, std::unique_ptr<Series>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering a name again with the same kind and label names returns the same family, so
  // two modules can share a metric; a clash in kind or labels is a bug (throws std::logic_error).
  CounterFamily& counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names = {},
                             std::vector<double> bounds = kLatencyBuckets);

  // Prometheus text exposition format 0.0.4, families in registration order.
  std::string render() const;

 private:
  struct Entry {
    Kind kind;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
  };
  Entry* find(const std::string& name, Kind kind, const std::vector<std::string>& label_names);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// The process-wide registry served on /metrics. Tests make their own Registry instead.
Registry& default_registry();

// Content-Type of render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Text-format escaping, exposed for tests.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
std::string format_value(double v);

}  // namespace chatglmd::metrics
