#include "http/handlers/chat_pipeline.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <optional>

#include "filter/filter_holder.hpp"
#include "http/handlers/account_cache.hpp"
#include "http/handlers/chat_log_hook.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/durable_write.hpp"
#include "http/handlers/window_counter.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"
#include "store/store_error.hpp"
#include "store/store_error_log.hpp"

namespace chatglmd::http {

// Both budgets are fixed windows keyed by openid: in this process's memory, or in the store
// when it is shared by several nodes (PostgreSQL), so that N nodes count a user once.
class ChatLimits {
 public:
  explicit ChatLimits(const AppServices& s)
      : requests_(kRateWindow, WindowCounter::kDefaultMaxKeys,
                  limiter_full_counter(s, "chat_rate")),
        free_(s.settings.free_window, WindowCounter::kDefaultMaxKeys,
              limiter_full_counter(s, "free_chats")),
        free_window_(s.settings.free_window),
        shared_(s.store ? s.store->shared_counters() : nullptr) {}
  // True when the counters live in the store: callers count on a blocking worker.
  bool shared() const { return shared_ != nullptr; }
  // True when the request fits in this minute's budget.
  bool allow_request(const std::string& openid, core::UtcMs now, int per_minute) {
    if (shared_) return shared_->take("chat_rate", openid, now, kRateWindow, per_minute);
    return requests_.take(openid, now, per_minute);
  }
  // The start of the user's window that counted the chat, or nothing when it is full.
  std::optional<core::UtcMs> take_free_chat(const std::string& openid, core::UtcMs now,
                                            int per_window) {
    if (shared_) return shared_->take_counted("free_chats", openid, now, free_window_, per_window);
    return free_.take_counted(openid, now, per_window);
  }
  // `window_start`: what take_free_chat returned (a window that has ended since keeps it).
  void give_back_free_chat(const std::string& openid, core::UtcMs window_start) {
    if (shared_) return shared_->give_back("free_chats", openid, window_start);
    free_.give_back(openid, window_start);
  }

 private:
  static constexpr core::Millis kRateWindow{60'000};
  WindowCounter requests_;
  WindowCounter free_;
  const core::Millis free_window_;
  store::SharedCounterRepository* const shared_;
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

// Refusals a user can cause at will (rate limit, a malformed request) are only counted in
// chatglmd_chat_refused_total{check}: a row each would let one user fill the disk. The model is
// stored only when this daemon serves it, so a client's string never lands in the log verbatim.
bool refusal_logged(Refusal r) {
  return r != Refusal::RateLimited && r != Refusal::BadRequest;
}

void count_refusal(const AppServices& s, Refusal r) {
  if (!s.registry) return;
  s.registry
      ->counter("chatglmd_chat_refused_total", "Chats refused, by the check that said no.",
                {"check"})
      .labels({refusal_outcome(r).substr(std::string_view("refused:").size())})
      .inc();
}

// The same framing, whose refusals also go into the usage log with the check that said no.
std::shared_ptr<ChatFraming> with_logged_refusals(const std::shared_ptr<ChatContext>& ctx,
                                                  std::shared_ptr<ChatFraming> framing,
                                                  const std::string& openid,
                                                  const std::string& model,
                                                  core::UtcMs started_at) {
  auto logged = std::make_shared<ChatFraming>(*framing);
  std::string logged_model = ctx->services.chat->serves_model(model) ? model : "(other)";
  logged->refuse = [ctx, framing, openid, logged_model, started_at](Refusal r,
                                                                    const std::string& m) {
    count_refusal(ctx->services, r);
    if (refusal_logged(r))
      record_chat(ctx->services, {openid, logged_model, framing->endpoint, started_at, std::nullopt,
                                  (now_of(ctx->services) - started_at).count(), std::nullopt,
                                  std::nullopt, refusal_outcome(r)});
    return framing->refuse(r, m);
  };
  return logged;
}

// How the quota for this chat was paid, so a failure before the first token can give it back.
struct Paid {
  enum Kind { Quota, FreeChat } kind = Quota;
  core::UtcMs free_window{};  // a free chat: the start of the window that counted it
};

// A stream's gathering buffer keeps its memory between reads up to this much (a token's framed
// chunk is a few hundred bytes).
constexpr std::size_t kKeptBatchBytes = 4096;

// Shared by the callbacks of one upstream call.
struct CallState {
  std::mutex mutex;
  std::shared_ptr<llm::ChatCall> call;
  bool cancelled = false;
  bool started = false;                      // the streaming head went out
  std::optional<core::UtcMs> first_text_at;  // for the usage log's time to first token
  std::string text;                          // whole answer, for non-streaming framing
  // The framed pieces of the current upstream read, written together by on_flush: one send per
  // read, not per event. Touched only by the upstream's callbacks (one thread, in order).
  std::string batch;
};

void start_upstream(std::shared_ptr<ChatContext> ctx, ExchangePtr ex, llm::ChatRequest request,
                    std::shared_ptr<ChatFraming> framing, std::string openid, Paid paid,
                    core::UtcMs started_at) {
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
  callbacks.on_delta = [ctx, ex, framing, state](std::string_view piece) {
    if (framing->whole) {
      std::lock_guard lock(state->mutex);
      if (!state->first_text_at) state->first_text_at = now_of(ctx->services);
      state->text += piece;
      return;
    }
    bool first = false;
    {
      std::lock_guard lock(state->mutex);
      first = !state->started;
      state->started = true;
      if (first) state->first_text_at = now_of(ctx->services);
    }
    if (first) framing->start(*ex);
    framing->piece(state->batch, piece);
  };
  callbacks.on_flush = [ex, state] {
    if (state->batch.empty()) return;
    ex->write(state->batch);
    // Its memory is kept for the next read, unless a burst made it large: thousands of open
    // streams each keep theirs.
    if (state->batch.capacity() > kKeptBatchBytes)
      std::string().swap(state->batch);
    else
      state->batch.clear();
  };
  callbacks.on_done = [ctx, ex, framing, state, openid, paid, started_at,
                       flush = callbacks.on_flush,
                       model = request.model](const llm::ChatResult& result) {
    flush();  // the client calls it after each read already; nothing gathered may be left behind
    if (!result.ok())
      spdlog::info("chat for {} ended: {} {}", openid, llm::to_string(result.error), result.detail);
    {
      std::optional<core::UtcMs> first_text_at;
      {
        std::lock_guard lock(state->mutex);
        first_text_at = state->first_text_at;
      }
      const auto now = now_of(ctx->services);
      store::ChatLogEntry row{openid,       model,        framing->endpoint,
                              started_at,   std::nullopt, (now - started_at).count(),
                              std::nullopt, std::nullopt, result_outcome(result)};
      if (first_text_at) row.ttft_ms = (*first_text_at - started_at).count();
      if (result.usage) {
        row.prompt_tokens = result.usage->prompt_tokens;
        row.completion_tokens = result.usage->completion_tokens;
      }
      record_chat(ctx->services, std::move(row));
    }
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
      auto limits = ctx->limits;
      if (paid.kind == Paid::FreeChat && !limits->shared()) {
        limits->give_back_free_chat(openid, paid.free_window);  // this process's memory
        answer(result);
        return;
      }
      // Through the durable path, off this io thread (on PostgreSQL the free-chat counter is a
      // shared row), and tried again while the store fails: a give-back lost to a full disk
      // would cost the user the chat. A failed try rolls back whole, so it is never given twice.
      auto* store = ctx->services.store;
      write_until_committed(
          ctx->services, ex,
          [store, limits, openid, paid] {
            if (paid.kind == Paid::FreeChat) {
              limits->give_back_free_chat(openid, paid.free_window);
            } else {
              store->accounts().refund_one(openid);
            }
          },
          [openid, answer, result](bool committed) {
            if (!committed) spdlog::error("chat for {}: could not give the chat back", openid);
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

// A store that cannot answer (PostgreSQL restarting, a full disk) refuses the chat (503 on /v1,
// 0001 on the original path) before any quota is taken, instead of the generic 500.
template <typename Body>
auto refusing_on_store_error(ExchangePtr ex, std::shared_ptr<ChatFraming> framing, Body body) {
  return [ex, framing, body = std::move(body)]() mutable {
    try {
      body();
    } catch (const store::StoreError& e) {
      spdlog::error("chat refused: the store failed: {}", e.what());
      ex->respond(framing->refuse(Refusal::Unavailable,
                                  "the service is unavailable for a moment, try again shortly"));
    }
  };
}

// The rest of the pipeline once the account is known (nothing: the user has none): account
// status, model allowed, then the charge. Runs on an io thread (the account came from memory)
// or on a worker (it was read from the store).
void charge_and_start(const std::shared_ptr<ChatContext>& ctx, const ExchangePtr& ex,
                      llm::ChatRequest request, std::shared_ptr<ChatFraming> framing,
                      const std::string& openid, core::UtcMs now,
                      const std::optional<AccountCache::Known>& account) {
  const AppServices& s = ctx->services;
  if (account && account->status == store::AccountStatus::Frozen) {
    ex->respond(framing->refuse(Refusal::Frozen, "this account is frozen"));
    return;
  }
  if (!s.chat->serves_model(request.model)) {
    ex->respond(
        framing->refuse(Refusal::BadRequest, "model " + request.model + " is not served here"));
    return;
  }
  bool has_models = account && !account->model_types.empty();
  if (has_models && !model_listed(account->model_types, request.model)) {
    ex->respond(framing->refuse(Refusal::ModelNotAllowed,
                                "your plan does not include model " + request.model));
    return;
  }
  // The chat is paid for in the group commit: the starts in flight share one fsync, and
  // the upstream call (so the answer's first byte) begins only once it is durable. A free
  // chat is taken inside the same unit: on PostgreSQL its counter is a row shared by the
  // nodes and must not be touched from the committer's reply.
  auto paid = std::make_shared<std::optional<Paid>>();
  // A freeze that committed after the check above is found by the charge itself.
  auto frozen = std::make_shared<bool>(false);
  auto* store = s.store;
  spdlog::debug("chat for {}: charging it in the next commit", openid);
  const int free_chats = s.settings.free_chats;
  write_durably(
      s, ex,
      [ctx, store, openid, now, free_chats, paid, frozen] {
        const store::Charge charge = store->accounts().consume_one(openid);
        *frozen = charge == store::Charge::Frozen;
        if (charge == store::Charge::Charged) {
          *paid = Paid{Paid::Quota};
        } else if (!*frozen && free_chats > 0) {
          if (auto window = ctx->limits->take_free_chat(openid, now, free_chats))
            *paid = Paid{Paid::FreeChat, *window};
        }
      },
      [ctx, ex, request = std::move(request), framing, openid, now, paid,
       frozen](bool committed) mutable {
        if (!committed) {
          // An in-memory free chat (SQLite) is not undone by the rollback: given back
          // here. A shared one (PostgreSQL) was a row of the rolled-back unit.
          if (*paid && (*paid)->kind == Paid::FreeChat && !ctx->limits->shared())
            ctx->limits->give_back_free_chat(openid, (*paid)->free_window);
          store::store_error_log().report("http: chat start", "its charge could not be committed");
          ex->respond(framing->refuse(Refusal::StoreUnavailable,
                                      "the service cannot save anything right now; nothing "
                                      "was charged, try again later"));
          return;
        }
        if (*frozen) {
          ex->respond(framing->refuse(Refusal::Frozen, "this account is frozen"));
          return;
        }
        if (!*paid) {
          ex->respond(framing->refuse(Refusal::NoQuota, "no chats left, buy more to continue"));
          return;
        }
        ex->post(
            [ctx, ex, request = std::move(request), framing, openid, paid = **paid, now]() mutable {
              start_upstream(ctx, ex, std::move(request), framing, openid, paid, now);
            });
      });
}

std::optional<AccountCache::Known> known_of(const std::optional<store::Account>& account) {
  if (!account) return std::nullopt;
  return AccountCache::Known{account->status, account->model_types};
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
  framing = with_logged_refusals(ctx, framing, *openid, request.model, now);
  bool whitelisted = s.filter && s.filter->is_whitelisted(*openid);
  // Shared counters are a store call: counted below, on a blocking worker, not on this io thread.
  const bool rate_limited_here = !whitelisted && s.settings.rate_limit > 0;
  if (rate_limited_here && !ctx->limits->shared() &&
      !ctx->limits->allow_request(*openid, now, s.settings.rate_limit)) {
    ex->respond(framing->refuse(Refusal::RateLimited, "too many requests, wait a minute"));
    return;
  }
  if (!whitelisted && s.filter) {
    auto words = s.filter->current();
    for (auto& m : request.messages) m.content = words->mask(m.content);
  }
  request.user_id = *openid;
  // Account status and models come from memory while the store's account stamp says they are
  // current (a freeze moves it, so it applies at once): the chat is then charged from this io
  // thread, with no trip through the worker pool. An account not in memory, and shared rate
  // counters (PostgreSQL), are read on a worker.
  std::optional<std::int64_t> stamp;
  if (s.accounts && !(rate_limited_here && ctx->limits->shared())) {
    stamp = s.accounts->current_stamp();
    if (stamp) {
      if (auto known = s.accounts->find(*openid, *stamp)) {
        charge_and_start(ctx, ex, std::move(request), framing, *openid, now, known);
        return;
      }
    }
  }
  ex->run_blocking(refusing_on_store_error(
      ex, framing,
      [ctx, ex, request = std::move(request), framing, openid = *openid, now, rate_limited_here,
       stamp]() mutable {
        const AppServices& s = ctx->services;
        if (rate_limited_here && ctx->limits->shared() &&
            !ctx->limits->allow_request(openid, now, s.settings.rate_limit)) {
          ex->respond(framing->refuse(Refusal::RateLimited, "too many requests, wait a minute"));
          return;
        }
        auto account = s.store->accounts().get(openid);
        if (account && stamp) s.accounts->remember(*account, *stamp);
        charge_and_start(ctx, ex, std::move(request), framing, openid, now, known_of(account));
      }));
}

}  // namespace chatglmd::http
