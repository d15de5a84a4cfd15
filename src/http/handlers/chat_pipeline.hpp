#pragma once
// The chat pipeline both chat paths share (DESIGN "Chat pipeline"): auth -> rate limit ->
// sensitive words -> account status -> model allowed -> quota -> upstream stream relayed.
// The two paths differ only in how they frame refusals, pieces and the end.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http/exchange.hpp"
#include "http/handlers/app_services.hpp"
#include "llm/chat_request_json.hpp"
#include "llm/chat_result.hpp"
#include "llm/chatglm_client.hpp"

namespace chatglmd::http {

enum class Refusal {
  BadRequest,
  NotAuthorised,
  RateLimited,
  Frozen,
  ModelNotAllowed,
  NoQuota,
  Unavailable,
  // The store takes no writes now (full disk, a moved file, a lost server): nothing charged.
  StoreUnavailable
};

// How one path speaks.
struct ChatFraming {
  std::string endpoint;  // the usage log's name of the path: "original" or "openai"
  std::function<Response(Refusal, const std::string& message)> refuse;
  // The answer ended before any text: an error reply with the upstream's reason.
  std::function<Response(const llm::ChatResult&)> upstream_failed;
  // Streaming: status line and content type, each piece, and the end (ok or cut short).
  std::function<void(Exchange&)> start;
  // Appends one piece's framing to `out`, where the pieces of one upstream read are gathered.
  std::function<void(std::string& out, std::string_view piece)> piece;
  std::function<std::string(const llm::ChatResult&)> end;
  // Non-streaming: called once with the whole text (OpenAI stream:false); null when streaming.
  std::function<Response(const std::string& text, const llm::ChatResult&)> whole;
};

// Per-process counters behind the rate limit and the free chats.
class ChatLimits;

struct ChatContext {
  AppServices services;
  std::shared_ptr<ChatLimits> limits;
};
std::shared_ptr<ChatContext> make_chat_context(const AppServices& services);

// Both chat paths over one context, so that a user's rate limit and free chats are one budget
// whichever path a request takes (register_routes does this; the AppServices forms in
// app_services.hpp give each path a context of its own).
void register_chat_routes(Router& router, std::shared_ptr<ChatContext> ctx);
void register_openai_routes(Router& router, std::shared_ptr<ChatContext> ctx);

// Runs the pipeline for an already parsed request; answers through `ex`.
void run_chat(std::shared_ptr<ChatContext> ctx, ExchangePtr ex, llm::ChatRequest request,
              std::shared_ptr<ChatFraming> framing);

using llm::parse_chat_body;  // {model, messages:[{role, content}]}

}  // namespace chatglmd::http
