#include "http/handlers/chat_pipeline.hpp"

#include <spdlog/spdlog.h>

#include <mutex>

#include "filter/filter_holder.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/window_counter.hpp"
#include "store/store.hpp"

namespace chatglmd::http {

// Both budgets are fixed windows keyed by openid.
class ChatLimits {
 public:
  explicit ChatLimits(const AppServices& s)
      : requests_(core::Millis{60'000}, WindowCounter::kDefaultMaxKeys,
                  limiter_full_counter(s, "chat_rate")),
        free_(s.settings.free_window, WindowCounter::kDefaultMaxKeys,
              limiter_full_counter(s, "free_chats")) {}
  // True when the request fits in this minute's budget.
  bool allow_request(const std::string& openid, core::UtcMs now, int per_minute) {
    return requests_.take(openid, now, per_minute);
  }
  bool take_free_chat(const std::string& openid, core::UtcMs now, int per_window) {
    return free_.take(openid, now, per_window);
  }
  void give_back_free_chat(const std::string& openid) { free_.give_back(openid); }

 private:
  WindowCounter requests_;
  WindowCounter free_;
};

std::shared_ptr<ChatContext> make_chat_context(const AppServices& services) {
  auto limits = std::make_shared<ChatLimits>(services);
  return std::make_shared<ChatContext>(ChatContext{services, std::move(limits)});
}

namespace {

bool model_listed(std::string_view list, std::string_view model) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == model) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// How the quota for this chat was paid, so a failure before the first token can give it back.
enum class Paid { Quota, FreeChat };

// Shared by the callbacks of one upstream call.
struct CallState {
  std::mutex mutex;
  std::shared_ptr<llm::ChatCall> call;
  bool cancelled = false;
  bool started = false;  // the streaming head went out
  std::string text;      // whole answer, for non-streaming framing
};

void start_upstream(std::shared_ptr<ChatContext> ctx, ExchangePtr ex, llm::ChatRequest request,
                    std::shared_ptr<ChatFraming> framing, std::string openid, Paid paid) {
  auto state = std::make_shared<CallState>();
  ex->on_cancel([state] {
    std::shared_ptr<llm::ChatCall> call;
    {
      std::lock_guard lock(state->mutex);
      state->cancelled = true;
      call = state->call;
    }
    if (call) call->cancel();  // the client left: stop paying for tokens nobody reads
  });
  llm::ChatCallbacks callbacks;
  callbacks.on_delta = [ex, framing, state](std::string_view piece) {
    if (framing->whole) {
      std::lock_guard lock(state->mutex);
      state->text += piece;
      return;
    }
    bool first = false;
    {
      std::lock_guard lock(state->mutex);
      first = !state->started;
      state->started = true;
    }
    if (first) framing->start(*ex);
    ex->write(framing->piece(piece));
  };
  callbacks.on_done = [ctx, ex, framing, state, openid, paid](const llm::ChatResult& result) {
    if (!result.ok())
      spdlog::info("chat for {} ended: {} {}", openid, llm::to_string(result.error), result.detail);
    auto answer = [ex, framing, state](const llm::ChatResult& result) {
      std::lock_guard lock(state->mutex);
      if (framing->whole) {
        ex->respond(result.ok() || result.delivered_any ? framing->whole(state->text, result)
                                                        : framing->upstream_failed(result));
        return;
      }
      if (!state->started) {
        if (result.ok()) {  // an empty answer is still an answer
          framing->start(*ex);
          ex->write(framing->end(result));
          ex->finish();
        } else {
          ex->respond(framing->upstream_failed(result));
        }
        return;
      }
      ex->write(framing->end(result));
      ex->finish();
    };
    if (!result.ok() && !result.delivered_any) {
      // Nothing reached the user: the chat is given back (DESIGN), before the error goes out so
      // that a client reading its quota right after the error sees the chat back.
      ex->run_blocking([ctx, openid, paid, answer, result] {
        if (paid == Paid::Quota)
          ctx->services.store->accounts().refund_one(openid);
        else
          ctx->limits->give_back_free_chat(openid);
        answer(result);
      });
      return;
    }
    answer(result);
  };
  auto call = ctx->services.chat->start(request, std::move(callbacks));
  bool cancel_now = false;
  {
    std::lock_guard lock(state->mutex);
    state->call = call;
    cancel_now = state->cancelled;
  }
  if (cancel_now) call->cancel();
}

}  // namespace

void run_chat(std::shared_ptr<ChatContext> ctx, ExchangePtr ex, llm::ChatRequest request,
              std::shared_ptr<ChatFraming> framing) {
  const AppServices& s = ctx->services;
  if (!s.store || !s.chat) {
    ex->respond(framing->refuse(Refusal::Unavailable, "chat is not configured on this server"));
    return;
  }
  auto openid = authenticate(ex->request(), s);
  if (!openid) {
    ex->respond(framing->refuse(Refusal::NotAuthorised, "not logged in or the token expired"));
    return;
  }
  core::UtcMs now = now_of(s);
  bool whitelisted = s.filter && s.filter->is_whitelisted(*openid);
  if (!whitelisted && s.settings.rate_limit > 0 &&
      !ctx->limits->allow_request(*openid, now, s.settings.rate_limit)) {
    ex->respond(framing->refuse(Refusal::RateLimited, "too many requests, wait a minute"));
    return;
  }
  if (!whitelisted && s.filter) {
    auto words = s.filter->current();
    for (auto& m : request.messages) m.content = words->mask(m.content);
  }
  request.user_id = *openid;
  // Account and quota are read per request so that a freeze takes effect at once.
  ex->run_blocking(
      [ctx, ex, request = std::move(request), framing, openid = *openid, now]() mutable {
        const AppServices& s = ctx->services;
        auto account = s.store->accounts().get(openid);
        if (account && account->status == store::AccountStatus::Frozen) {
          ex->respond(framing->refuse(Refusal::Frozen, "this account is frozen"));
          return;
        }
        if (!s.chat->serves_model(request.model)) {
          ex->respond(framing->refuse(Refusal::BadRequest,
                                      "model " + request.model + " is not served here"));
          return;
        }
        bool has_models = account && !account->model_types.empty();
        if (has_models && !model_listed(account->model_types, request.model)) {
          ex->respond(framing->refuse(Refusal::ModelNotAllowed,
                                      "your plan does not include model " + request.model));
          return;
        }
        Paid paid = Paid::Quota;
        if (!s.store->accounts().consume_one(openid)) {
          if (s.settings.free_chats <= 0 ||
              !ctx->limits->take_free_chat(openid, now, s.settings.free_chats)) {
            ex->respond(framing->refuse(Refusal::NoQuota, "no chats left, buy more to continue"));
            return;
          }
          paid = Paid::FreeChat;
        }
        ex->post([ctx, ex, request = std::move(request), framing, openid, paid]() mutable {
          start_upstream(ctx, ex, std::move(request), framing, openid, paid);
        });
      });
}

}  // namespace chatglmd::http
