#include <algorithm>
#include <stdexcept>

#include "metrics/metrics.hpp"

namespace chatglmd::metrics {
namespace {

bool valid_name(std::string_view n, bool allow_colon) {
  if (n.empty()) return false;
  auto ok = [&](char c, bool first) {
    bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    return alpha || (!first && c >= '0' && c <= '9');
  };
  for (std::size_t i = 0; i < n.size(); ++i)
    if (!ok(n[i], i == 0)) return false;
  return true;
}

void check_names(const std::string& name, const std::vector<std::string>& label_names, Kind kind) {
  if (!valid_name(name, true)) throw std::logic_error("invalid metric name: " + name);
  for (const auto& l : label_names) {
    // "le" is the bucket label of histograms; "__" names are reserved by Prometheus.
    if (!valid_name(l, false) || l.starts_with("__") || (kind == Kind::histogram && l == "le"))
      throw std::logic_error("invalid label name '" + l + "' for " + name);
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::logic_error("histogram bounds must be strictly ascending");
}

void Histogram::observe(double v) {
  // Bucket i counts values <= bounds_[i] that did not fit an earlier bucket; render() sums them.
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

template <class Series>
Series& Family<Series>::labels(const LabelValues& values) {
  if (values.size() != label_names_.size())
    throw std::logic_error("metric " + name_ + " takes " + std::to_string(label_names_.size()) +
                           " label values, got " + std::to_string(values.size()));
  std::lock_guard lock(mutex_);
  auto& slot = series_[values];
  if (!slot) {
    if constexpr (std::is_same_v<Series, Histogram>)
      slot = std::make_unique<Histogram>(bounds_);
    else
      slot = std::make_unique<Series>();
  }
  return *slot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Entry* Registry::find(const std::string& name, Kind kind,
                                const std::vector<std::string>& label_names) {
  for (auto& e : entries_) {
    const std::string* existing_name = nullptr;
    const std::vector<std::string>* existing_labels = nullptr;
    if (e->counter)
      existing_name = &e->counter->name(), existing_labels = &e->counter->label_names();
    if (e->gauge) existing_name = &e->gauge->name(), existing_labels = &e->gauge->label_names();
    if (e->histogram)
      existing_name = &e->histogram->name(), existing_labels = &e->histogram->label_names();
    if (*existing_name != name) continue;
    if (e->kind != kind || *existing_labels != label_names)
      throw std::logic_error("metric " + name + " registered twice with different kind or labels");
    return e.get();
  }
  return nullptr;
}

CounterFamily& Registry::counter(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names) {
  check_names(name, label_names, Kind::counter);
  std::lock_guard lock(mutex_);
  if (auto* e = find(name, Kind::counter, label_names)) return *e->counter;
  auto e = std::make_unique<Entry>();
  e->kind = Kind::counter;
  e->counter = std::make_unique<CounterFamily>(name, help, std::move(label_names));
  entries_.push_back(std::move(e));
  return *entries_.back()->counter;
}

GaugeFamily& Registry::gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names) {
  check_names(name, label_names, Kind::gauge);
  std::lock_guard lock(mutex_);
  if (auto* e = find(name, Kind::gauge, label_names)) return *e->gauge;
  auto e = std::make_unique<Entry>();
  e->kind = Kind::gauge;
  e->gauge = std::make_unique<GaugeFamily>(name, help, std::move(label_names));
  entries_.push_back(std::move(e));
  return *entries_.back()->gauge;
}

HistogramFamily& Registry::histogram(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
  check_names(name, label_names, Kind::histogram);
  Histogram probe(bounds);  // throws on bad bounds before anything is registered
  std::lock_guard lock(mutex_);
  if (auto* e = find(name, Kind::histogram, label_names)) return *e->histogram;
  auto e = std::make_unique<Entry>();
  e->kind = Kind::histogram;
  e->histogram =
      std::make_unique<HistogramFamily>(name, help, std::move(label_names), std::move(bounds));
  entries_.push_back(std::move(e));
  return *entries_.back()->histogram;
}

Registry& default_registry() {
  static Registry registry;
  return registry;
}

}  // namespace chatglmd::metrics
