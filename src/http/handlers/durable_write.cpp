#include "http/handlers/durable_write.hpp"

#include <spdlog/spdlog.h>

#include "store/group_commit.hpp"
#include "store/store.hpp"

namespace chatglmd::http {

void write_durably(const AppServices& s, const ExchangePtr& ex, std::function<void()> work,
                   std::function<void(bool committed)> done) {
  if (s.commits) {
    s.commits->submit(std::move(work), std::move(done));
    return;
  }
  ex->run_blocking([store = s.store, work = std::move(work), done = std::move(done)] {
    bool committed = false;
    try {
      store->in_transaction(work);
      committed = true;
    } catch (const std::exception& e) {
      spdlog::error("store write failed: {}", e.what());
    }
    done(committed);
  });
}

void write_until_committed(const AppServices& s, const ExchangePtr& ex, std::function<void()> work,
                           std::function<void(bool committed)> done) {
  if (s.commits) {
    s.commits->submit_until_committed(std::move(work), std::move(done));
    return;
  }
  write_durably(s, ex, std::move(work), std::move(done));
}

}  // namespace chatglmd::http
