// The original chat path: {model, messages} in, text/event-stream of raw text pieces out (no
// `data:` framing); the end of the answer is the end of the response.
#include "http/handlers/chat_pipeline.hpp"
#include "http/handlers/common.hpp"

namespace chatglmd::http {

namespace {

std::string_view code_of(Refusal r) {
  switch (r) {
    case Refusal::BadRequest:
      return code::bad_parameter;
    case Refusal::NotAuthorised:
      return code::not_authorised;
    case Refusal::RateLimited:
      return code::rate_limited;
    case Refusal::Frozen:
      return code::account_frozen;
    case Refusal::ModelNotAllowed:
      return code::model_not_allowed;
    case Refusal::NoQuota:
      return code::quota_exhausted;
    case Refusal::Unavailable:
      return code::unknown_error;
    case Refusal::StoreUnavailable:
      return code::store_unavailable;
  }
  return code::unknown_error;
}

// The last line of an answer the upstream cut short (the original path serves the Chinese page).
std::string cut_short_note(llm::ChatErrorKind kind) {
  std::string_view why;
  switch (kind) {
    case llm::ChatErrorKind::Sensitive:
      why = "内容未通过安全审核";
      break;
    case llm::ChatErrorKind::Timeout:
      why = "模型服务响应超时，请重试";
      break;
    case llm::ChatErrorKind::RateLimited:
    case llm::ChatErrorKind::Balance:
      why = "模型服务繁忙，请稍后再试";
      break;
    case llm::ChatErrorKind::Cancelled:
      why = "请求已取消";
      break;
    default:
      why = "模型服务出错，请重试";
      break;
  }
  return "\n\n[回答中断：" + std::string(why) + "]";
}

std::shared_ptr<ChatFraming> original_framing() {
  auto f = std::make_shared<ChatFraming>();
  f->endpoint = "original";
  f->refuse = [](Refusal r, const std::string& message) { return envelope(code_of(r), message); };
  f->upstream_failed = [](const llm::ChatResult& result) {
    return envelope(code::upstream_error,
                    result.message.empty() ? "the model service failed" : result.message);
  };
  f->start = [](Exchange& ex) { ex.start_stream(200, "text/event-stream; charset=utf-8"); };
  f->piece = [](std::string& out, std::string_view piece) { out += piece; };
  // A cut-short answer says so in the text: the stream has no other channel for it. The page
  // shows the text as it is, so the note is in the page's language.
  f->end = [](const llm::ChatResult& result) {
    return result.ok() ? std::string() : cut_short_note(result.error);
  };
  return f;
}

}  // namespace

void register_chat_routes(Router& router, const AppServices& s) {
  register_chat_routes(router, make_chat_context(s));
}

void register_chat_routes(Router& router, std::shared_ptr<ChatContext> ctx) {
  auto framing = original_framing();
  router.add("POST", "/api/v1/chatgpt/chat/completions", [ctx, framing](ExchangePtr ex) {
    auto body = ex->request().json();
    llm::ChatRequest request;
    std::optional<std::string> problem =
        body ? parse_chat_body(*body, request) : "body is not JSON";
    if (problem) {
      ex->respond(envelope(code::bad_parameter, *problem));
      return;
    }
    run_chat(ctx, ex, std::move(request), framing);
  });
}

}  // namespace chatglmd::http
