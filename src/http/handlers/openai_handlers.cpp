// OpenAI-compatible endpoints: /v1/chat/completions (SSE `data: {chunk}` ... `data: [DONE]`, or
// one JSON answer when stream is false) and /v1/models.
#include <atomic>
#include <boost/json.hpp>

#include "http/handlers/chat_pipeline.hpp"
#include "http/handlers/common.hpp"

namespace chatglmd::http {

namespace {

Response refuse(Refusal r, const std::string& message) {
  switch (r) {
    case Refusal::BadRequest:
      return openai_error(400, message, "invalid_request_error", "invalid_request");
    case Refusal::NotAuthorised:
      return openai_error(401, message, "invalid_request_error", "invalid_api_key");
    case Refusal::RateLimited:
      return openai_error(429, message, "rate_limit_error", "rate_limit_exceeded");
    case Refusal::Frozen:
      return openai_error(403, message, "permission_error", "account_frozen");
    case Refusal::ModelNotAllowed:
      return openai_error(403, message, "permission_error", "model_not_allowed");
    case Refusal::NoQuota:
      return openai_error(429, message, "insufficient_quota", "insufficient_quota");
    case Refusal::Unavailable:
      return openai_error(503, message, "server_error");
    case Refusal::StoreUnavailable:
      return openai_error(503, message, "server_error", "store_unavailable");
  }
  return openai_error(500, message, "server_error");
}

Response upstream_failed(const llm::ChatResult& result) {
  std::string message = result.message.empty() ? "the model service failed" : result.message;
  if (result.error == llm::ChatErrorKind::Timeout)
    return openai_error(504, message, "upstream_error", "timeout");
  if (result.error == llm::ChatErrorKind::Sensitive)
    return openai_error(400, message, "invalid_request_error", "content_filter");
  return openai_error(502, message, "upstream_error", std::string(llm::to_string(result.error)));
}

std::string completion_id() {
  static std::atomic<std::uint64_t> counter{0};
  return "chatcmpl-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) +
         "-" + std::to_string(counter++);
}

// `text` as a JSON string literal, the way Boost.JSON writes it, appended without a temporary.
void append_json_string(std::string& out, std::string_view text) {
  boost::json::serializer sr;
  sr.reset(text);
  char buffer[1024];
  while (!sr.done()) out += sr.read(buffer, sizeof buffer);
}

std::string finish_reason_of(const llm::ChatResult& r) {
  if (!r.finish_reason.empty()) return r.finish_reason;
  return r.ok() ? "stop" : "error";
}

boost::json::object usage_of(const llm::ChatResult& r) {
  boost::json::object u;
  u["prompt_tokens"] = r.usage ? r.usage->prompt_tokens : 0;
  u["completion_tokens"] = r.usage ? r.usage->completion_tokens : 0;
  u["total_tokens"] = r.usage ? r.usage->total_tokens : 0;
  return u;
}

std::shared_ptr<ChatFraming> openai_framing(const std::string& model, bool stream,
                                            std::int64_t created) {
  auto f = std::make_shared<ChatFraming>();
  f->endpoint = "openai";
  std::string id = completion_id();
  f->refuse = refuse;
  f->upstream_failed = upstream_failed;
  auto chunk = [id, model, created](boost::json::object delta, boost::json::value finish) {
    boost::json::object choice{
        {"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}};
    boost::json::object o{{"id", id},
                          {"object", "chat.completion.chunk"},
                          {"created", created},
                          {"model", model},
                          {"choices", boost::json::array{std::move(choice)}}};
    return "data: " + boost::json::serialize(o) + "\n\n";
  };
  if (stream) {
    f->start = [](Exchange& ex) { ex.start_stream(200, "text/event-stream; charset=utf-8"); };
    // A piece's chunk is the same JSON as chunk() builds, written around the escaped text: the
    // parts that never change are serialised once per answer, not once per token.
    std::string head = chunk(boost::json::object{{"role", "assistant"}, {"content", ""}}, nullptr);
    const auto hole = head.rfind("\"content\":\"\"") + std::string_view("\"content\":").size();
    std::string tail = head.substr(hole + 2);
    head.resize(hole);
    f->piece = [head = std::move(head), tail = std::move(tail)](std::string& out,
                                                                std::string_view piece) {
      out.reserve(out.size() + head.size() + piece.size() + piece.size() / 8 + 2 + tail.size());
      out += head;
      append_json_string(out, piece);
      out += tail;
    };
    f->end = [chunk](const llm::ChatResult& r) {
      std::string out;
      if (!r.ok()) {
        boost::json::object err{{"message", r.message.empty() ? "answer interrupted" : r.message},
                                {"type", "upstream_error"},
                                {"code", llm::to_string(r.error)}};
        out += "data: " + boost::json::serialize(boost::json::object{{"error", std::move(err)}}) +
               "\n\n";
      }
      out += chunk(boost::json::object{}, boost::json::string(finish_reason_of(r)));
      return out + "data: [DONE]\n\n";
    };
  } else {
    f->whole = [id, model, created](const std::string& text, const llm::ChatResult& r) {
      boost::json::object message{{"role", "assistant"}, {"content", text}};
      boost::json::object choice{
          {"index", 0}, {"message", std::move(message)}, {"finish_reason", finish_reason_of(r)}};
      boost::json::object o{{"id", id},
                            {"object", "chat.completion"},
                            {"created", created},
                            {"model", model},
                            {"choices", boost::json::array{std::move(choice)}},
                            {"usage", usage_of(r)}};
      return Response::json(200, o);
    };
  }
  return f;
}

}  // namespace

void register_openai_routes(Router& router, const AppServices& s) {
  register_openai_routes(router, make_chat_context(s));
}

void register_openai_routes(Router& router, std::shared_ptr<ChatContext> ctx) {
  const AppServices& s = ctx->services;
  router.add("POST", "/v1/chat/completions", [ctx](ExchangePtr ex) {
    auto body = ex->request().json();
    llm::ChatRequest request;
    std::optional<std::string> problem =
        body ? parse_chat_body(*body, request) : "body is not JSON";
    if (problem) {
      ex->respond(openai_error(400, *problem, "invalid_request_error", "invalid_request"));
      return;
    }
    bool stream = false;
    if (const auto* v = body->as_object().if_contains("stream"))
      stream = v->is_bool() && v->as_bool();
    if (const auto* v = body->as_object().if_contains("temperature"); v && v->is_number())
      request.temperature = v->to_number<double>();
    if (const auto* v = body->as_object().if_contains("top_p"); v && v->is_number())
      request.top_p = v->to_number<double>();
    if (const auto* v = body->as_object().if_contains("max_tokens"); v && v->is_int64())
      request.max_tokens = static_cast<int>(v->as_int64());
    auto framing = openai_framing(request.model, stream, now_of(ctx->services).ms / 1000);
    run_chat(ctx, ex, std::move(request), framing);
  });

  router.add_sync("GET", "/v1/models", [s](const Request&) {
    boost::json::array data;
    if (s.chat)
      for (const auto& m : s.chat->config().models)
        data.push_back(boost::json::object{
            {"id", m}, {"object", "model"}, {"owned_by", s.settings.models_owned_by}});
    return Response::json(200, boost::json::object{{"object", "list"}, {"data", std::move(data)}});
  });
}

}  // namespace chatglmd::http
