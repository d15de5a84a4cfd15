#include "app/store_probe.hpp"

#include <spdlog/spdlog.h>

#include "app/store_access.hpp"
#include "store/store_error_log.hpp"

namespace chatglmd::app {

StoreProbe::StoreProbe(store::Store& store, const core::Clock& clock, std::string db_path,
                       bool file_backed)
    : store_(store), clock_(clock), db_path_(std::move(db_path)), file_backed_(file_backed) {}

std::string StoreProbe::check() {
  // A probe already running (waiting out another process's write lock) answers for everyone:
  // polls must not pile up behind it on the blocking workers.
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return last_answer();
  const auto now = clock_.now();
  if (probed_at_ && now - *probed_at_ < kStoreProbeInterval && now >= *probed_at_)
    return last_answer();
  return probe();
}

std::string StoreProbe::check_now() {
  std::lock_guard lock(mutex_);
  return probe();
}

std::string StoreProbe::last_answer() {
  std::lock_guard lock(answer_mutex_);
  return last_;
}

std::string StoreProbe::probe() {
  std::string why;
  if (!store_.healthy()) {
    why = "store " + db_path_ + " cannot be read or its schema is not current";
  } else {
    try {
      store_.write_probe(clock_.now());
    } catch (const std::exception& e) {
      why = "store " + db_path_ + " does not accept writes: " + e.what();
      if (file_backed_) why = with_store_access(why, db_path_);
    }
  }
  // Logged when readiness changes, not on every poll (the first answer is the caller's to say).
  std::lock_guard lock(answer_mutex_);
  if (probed_at_ && why != last_) {
    if (!why.empty())
      spdlog::error("not ready: {}", why);
    else {
      store::store_error_log().recovered();
      spdlog::info("ready again: the store accepts writes");
    }
  }
  probed_at_ = clock_.now();
  last_ = why;
  return why;
}

}  // namespace chatglmd::app
