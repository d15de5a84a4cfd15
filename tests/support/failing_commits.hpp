#pragma once
// A store whose shared COMMIT fails in the batches a test picks: for the group committer's
// failure paths (the store suite's, and a chat whose charge cannot be committed).
#include <functional>
#include <stdexcept>

#include "store/store.hpp"

namespace chatglmd::testing {

// The store, but the COMMIT of the batches `fails(n)` picks (n counts from 1) fails, as on a full
// disk or an I/O error: that outer transaction throws once its body has run, so the real store
// rolls all of it back.
class FailingCommits final : public store::Store {
 public:
  FailingCommits(store::Store& real, std::function<bool(int batch)> fails)
      : real_(real), fails_(std::move(fails)) {}
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
  // Only the committer thread calls it: the batch's transaction, then a savepoint per unit.
  void in_transaction(const std::function<void()>& body) override {
    const bool outer = depth_++ == 0;
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth_};
    if (outer && fails_(++batches_)) {
      real_.in_transaction([&] {
        body();
        throw std::runtime_error("COMMIT: disk I/O error");
      });
      return;
    }
    real_.in_transaction(body);
  }

 private:
  store::Store& real_;
  std::function<bool(int)> fails_;
  int depth_ = 0;
  int batches_ = 0;
};

}  // namespace chatglmd::testing
