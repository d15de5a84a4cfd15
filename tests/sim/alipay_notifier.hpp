#pragma once
// Sends notifies the way Alipay does, on its own io thread: POST with the malformed
// Content-Type, retried on anything but exactly `success`.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chatglmd::sim {

struct NotifyAttempt {
  std::string out_trade_no;
  std::string url;
  int attempt = 0;  // 1-based
  int status = 0;   // 0 = no HTTP answer
  std::string reply;
  bool ok = false;
};

class AlipayNotifier {
 public:
  using OnAttempt = std::function<void(const NotifyAttempt&)>;
  explicit AlipayNotifier(OnAttempt on_attempt);
  ~AlipayNotifier();

  // First attempt at once, then one retry after each delay in `schedule` until `success`.
  void send(std::string out_trade_no, std::string url, std::string body,
            std::vector<std::chrono::milliseconds> schedule);
  // Drops every pending retry (attempts already on the wire finish but are not retried).
  void cancel_all();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace chatglmd::sim
