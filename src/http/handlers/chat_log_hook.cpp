#include "http/handlers/chat_log_hook.hpp"

#include <spdlog/spdlog.h>

#include "http/handlers/chat_pipeline.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"
#include "store/store_error_log.hpp"

namespace chatglmd::http {

std::string refusal_outcome(Refusal refusal) {
  switch (refusal) {
    case Refusal::BadRequest:
      return "refused:bad_request";
    case Refusal::NotAuthorised:
      return "refused:auth";
    case Refusal::RateLimited:
      return "refused:rate_limit";
    case Refusal::Frozen:
      return "refused:frozen";
    case Refusal::ModelNotAllowed:
      return "refused:model";
    case Refusal::NoQuota:
      return "refused:quota";
    case Refusal::Unavailable:
      return "refused:unavailable";
    case Refusal::StoreUnavailable:
      return "refused:store";
  }
  return "refused:unknown";
}

std::string result_outcome(const llm::ChatResult& result) {
  if (result.ok()) return "ok";
  if (result.error == llm::ChatErrorKind::Cancelled) return "cancelled";
  return "upstream:" + std::string(llm::to_string(result.error));
}

void record_chat(const AppServices& services, store::ChatLogEntry entry) {
  if (!services.store) return;
  store::Store* store = services.store;
  if (!services.commits) {
    try {
      store->chat_log().append(entry);
    } catch (const std::exception& e) {
      store::store_error_log().report("usage log: chat of " + entry.openid + " not recorded",
                                      e.what());
    }
    return;
  }
  auto row = std::make_shared<store::ChatLogEntry>(std::move(entry));
  services.commits->submit([store, row] { store->chat_log().append(*row); },
                           [row](bool committed) {
                             if (!committed)
                               store::store_error_log().report(
                                   "usage log: chat of " + row->openid + " not recorded",
                                   "its commit failed");
                           });
}

}  // namespace chatglmd::http
