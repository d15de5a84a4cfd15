#include "soak/soak_load.hpp"

#include <algorithm>
#include <cmath>

namespace chatglmd::testing::soak {

Line fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  const std::size_t n = std::min(x.size(), y.size());
  if (n < 2) return {};
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
  }
  const double denom = n * sxx - sx * sx;
  if (denom == 0) return {0, sy / n};
  const double slope = (n * sxy - sx * sy) / denom;
  return {slope, (sy - slope * sx) / n};
}

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * values.size()));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

void Ledger::latency(bool chat, double ms) {
  std::lock_guard lock(mu_);
  (chat ? chat_ms_ : req_ms_).push_back(ms);
}

void Ledger::unexpected(const std::string& what) {
  std::lock_guard lock(mu_);
  ++unexpected_;
  if (examples_.size() < 20) examples_.push_back(what);
}

void Ledger::count(const std::string& outcome, std::int64_t n) {
  std::lock_guard lock(mu_);
  counts_[outcome] += n;
}

void Ledger::charged(const std::string& openid) {
  std::lock_guard lock(mu_);
  ++charged_[openid];
}

void Ledger::paid(const std::string& order_id) {
  std::lock_guard lock(mu_);
  if (paid_.insert(order_id).second) paid_list_.push_back(order_id);
}

void Ledger::unpaid(const std::string& order_id) {
  std::lock_guard lock(mu_);
  unpaid_.insert(order_id);
}

std::int64_t Ledger::take_window(std::vector<double>& req_ms, std::vector<double>& chat_ms) {
  std::lock_guard lock(mu_);
  req_ms.swap(req_ms_);
  chat_ms.swap(chat_ms_);
  req_ms_.clear();
  chat_ms_.clear();
  return static_cast<std::int64_t>(req_ms.size() + chat_ms.size());
}

std::int64_t Ledger::unexpected_count() const {
  std::lock_guard lock(mu_);
  return unexpected_;
}

std::vector<std::string> Ledger::unexpected_examples() const {
  std::lock_guard lock(mu_);
  return examples_;
}

std::map<std::string, std::int64_t> Ledger::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::map<std::string, std::int64_t> Ledger::charged_by_user() const {
  std::lock_guard lock(mu_);
  return charged_;
}

std::set<std::string> Ledger::paid_orders() const {
  std::lock_guard lock(mu_);
  return paid_;
}

std::set<std::string> Ledger::unpaid_orders() const {
  std::lock_guard lock(mu_);
  return unpaid_;
}

std::vector<std::string> Ledger::some_paid(std::size_t n) const {
  std::lock_guard lock(mu_);
  if (paid_list_.size() <= n) return paid_list_;
  return {paid_list_.end() - static_cast<std::ptrdiff_t>(n), paid_list_.end()};
}

}  // namespace chatglmd::testing::soak
