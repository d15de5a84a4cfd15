#pragma once
// A store whose shared COMMIT fails in the batches a test picks: for the group committer's
// failure paths (the store suite's, and a chat whose charge cannot be committed).
#include <functional>
#include <stdexcept>

#include "support/forwarding_store.hpp"

namespace chatglmd::testing {

// The store, but the COMMIT of the batches `fails(n)` picks (n counts from 1) fails, as on a full
// disk or an I/O error: that outer transaction throws once its body has run, so the real store
// rolls all of it back.
class FailingCommits final : public ForwardingStore {
 public:
  FailingCommits(store::Store& real, std::function<bool(int batch)> fails)
      : ForwardingStore(real), fails_(std::move(fails)) {}
  // Only the committer thread calls it: the batch's transaction, then a savepoint per unit.
  void in_transaction(const std::function<void()>& body) override {
    const bool outer = depth_++ == 0;
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth_};
    if (outer && fails_(++batches_)) {
      real().in_transaction([&] {
        body();
        throw std::runtime_error("COMMIT: disk I/O error");
      });
      return;
    }
    real().in_transaction(body);
  }

 private:
  std::function<bool(int)> fails_;
  int depth_ = 0;
  int batches_ = 0;
};

}  // namespace chatglmd::testing
