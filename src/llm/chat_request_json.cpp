#include "llm/chat_request_json.hpp"

namespace chatglmd::llm {

namespace {

// Model names are short identifiers (glm-4, glm-4-flash, chatglm_turbo): anything else is
// refused before it reaches the upstream, the logs or the usage log.
constexpr std::size_t kMaxModelBytes = 64;

bool model_name_ok(std::string_view model) {
  if (model.empty() || model.size() > kMaxModelBytes) return false;
  for (char c : model) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> parse_chat_body(const boost::json::value& body, llm::ChatRequest& out) {
  const auto* o = body.if_object();
  if (!o) return "body must be a JSON object";
  const auto* model = o->if_contains("model");
  if (!model || !model->is_string() || model->as_string().empty()) return "model is required";
  if (!model_name_ok(model->as_string()))
    return "model must be at most 64 characters of A-Z a-z 0-9 . _ : -";
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
