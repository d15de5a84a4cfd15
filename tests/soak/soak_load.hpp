#pragma once
// The soak's bookkeeping: what the load did, what it expects the store to show, and the samples
// of the daemon's resources. Shared by the load threads, so every member is behind one mutex.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace chatglmd::testing::soak {

struct Sample {
  double t_s = 0;
  std::int64_t rss_kib = 0, fds = 0, threads = 0, wal_kib = 0;
  std::int64_t requests = 0;  // done in the window since the previous sample
  double req_p50_ms = 0, req_p99_ms = 0, chat_p50_ms = 0, chat_p99_ms = 0;
  std::int64_t unexpected = 0;  // cumulative
};

// Least-squares line through (x, y); slope per unit of x.
struct Line {
  double slope = 0, intercept = 0;
};
Line fit_line(const std::vector<double>& x, const std::vector<double>& y);

// Percentile (0..100) of a sample, 0 when empty; sorts `values`.
double percentile(std::vector<double>& values, double p);

class Ledger {
 public:
  void latency(bool chat, double ms);
  // A request answered outside what the load provoked: counted, the first few kept for the report.
  void unexpected(const std::string& what);
  void count(const std::string& outcome, std::int64_t n = 1);
  void charged(const std::string& openid);  // one chat the user paid for
  void paid(const std::string& order_id);
  void unpaid(const std::string& order_id);

  // Takes the window's latencies (and clears them) and returns the request count.
  std::int64_t take_window(std::vector<double>& req_ms, std::vector<double>& chat_ms);
  std::int64_t unexpected_count() const;
  std::vector<std::string> unexpected_examples() const;
  std::map<std::string, std::int64_t> counts() const;
  std::map<std::string, std::int64_t> charged_by_user() const;
  std::set<std::string> paid_orders() const;
  std::set<std::string> unpaid_orders() const;
  std::vector<std::string> some_paid(std::size_t n) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> req_ms_, chat_ms_;
  std::int64_t unexpected_ = 0;
  std::vector<std::string> examples_;
  std::map<std::string, std::int64_t> counts_;
  std::map<std::string, std::int64_t> charged_;
  std::set<std::string> paid_, unpaid_;
  std::vector<std::string> paid_list_;
};

}  // namespace chatglmd::testing::soak
