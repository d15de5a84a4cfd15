#pragma once
// The handlers' one way to make a write durable before they answer: a unit of the daemon's group
// commit (AppServices::commits), so the writes in flight share one fsync, or without one a
// transaction of its own on the worker pool. Either way off the io threads.
#include <functional>

#include "http/exchange.hpp"
#include "http/handlers/app_services.hpp"

namespace chatglmd::http {

// `work` runs inside the transaction (store calls; nothing of it is kept when it throws);
// `done(true)` once it has committed, `done(false)` when it threw or
// the commit failed. `done` runs on the committer or a worker thread: answer through `ex`, or
// post() to continue on an io thread.
void write_durably(const AppServices& s, const ExchangePtr& ex, std::function<void()> work,
                   std::function<void(bool committed)> done);

// The same for a write whose loss would cost a user (a chat given back): through the group commit
// it is tried again until it commits (GroupCommitter::submit_until_committed), so a store that
// fails for a moment delays it instead of losing it; without one, it is tried once.
void write_until_committed(const AppServices& s, const ExchangePtr& ex, std::function<void()> work,
                           std::function<void(bool committed)> done);

}  // namespace chatglmd::http
