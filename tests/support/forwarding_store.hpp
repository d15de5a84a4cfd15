#pragma once
// A store that hands every call to a real one: a test's wrapper derives from it and overrides
// only what it changes (a failing COMMIT, a hooked repository).
#include <functional>

#include "store/store.hpp"

namespace chatglmd::testing {

class ForwardingStore : public store::Store {
 public:
  explicit ForwardingStore(store::Store& real) : real_(real) {}
  store::ProductRepository& products() override { return real_.products(); }
  store::AccountRepository& accounts() override { return real_.accounts(); }
  store::OrderRepository& orders() override { return real_.orders(); }
  store::RefundRepository& refunds() override { return real_.refunds(); }
  store::JobRepository& jobs() override { return real_.jobs(); }
  store::LoginRepository& logins() override { return real_.logins(); }
  store::WordRepository& words() override { return real_.words(); }
  store::WhitelistRepository& whitelist() override { return real_.whitelist(); }
  store::NotifyRepository& notifies() override { return real_.notifies(); }
  store::ChatLogRepository& chat_log() override { return real_.chat_log(); }
  store::ReportRepository& reports() override { return real_.reports(); }
  store::SharedCounterRepository* shared_counters() override { return real_.shared_counters(); }
  bool healthy() override { return real_.healthy(); }
  void write_probe(core::UtcMs now) override { real_.write_probe(now); }
  void in_transaction(const std::function<void()>& body) override { real_.in_transaction(body); }

 protected:
  store::Store& real() { return real_; }

 private:
  store::Store& real_;
};

}  // namespace chatglmd::testing
