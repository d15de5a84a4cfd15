#include "llm/chat_request_json.hpp"

namespace chatglmd::llm {

std::optional<std::string> parse_chat_body(const boost::json::value& body, llm::ChatRequest& out) {
  const auto* o = body.if_object();
  if (!o) return "body must be a JSON object";
  const auto* model = o->if_contains("model");
  if (!model || !model->is_string() || model->as_string().empty()) return "model is required";
  out.model = std::string(model->as_string());
  const auto* messages = o->if_contains("messages");
  if (!messages || !messages->is_array() || messages->as_array().empty())
    return "messages must be a non-empty array";
  for (const auto& m : messages->as_array()) {
    const auto* mo = m.if_object();
    const auto* role = mo ? mo->if_contains("role") : nullptr;
    const auto* content = mo ? mo->if_contains("content") : nullptr;
    if (!role || !role->is_string() || !content || !content->is_string())
      return "each message needs a role and a text content";
    out.messages.push_back({std::string(role->as_string()), std::string(content->as_string())});
  }
  return std::nullopt;
}

}  // namespace chatglmd::llm
