#pragma once
// How a ChatGLM answer ended, as a value the chat pipeline acts on (refund, message, metrics).
#include <optional>
#include <string>
#include <string_view>

namespace chatglmd::llm {

enum class ChatErrorKind {
  None,
  Auth,         // 401, codes 1000-1004: our API key/token was refused
  RateLimited,  // 429, codes 1302-1305
  Sensitive,    // code 1301, or finish_reason "sensitive"
  Balance,      // code 1113: the account has no balance / resource package
  BadRequest,   // 400 and parameter codes (1210-1215, 1261)
  Upstream,     // 5xx, error object mid-stream, network failure, answer cut short
  Timeout,      // connect / first byte / idle timeout
  Cancelled,    // the caller cancelled (client disconnected)
};

struct ChatUsage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int total_tokens = 0;
};

struct ChatResult {
  ChatErrorKind error = ChatErrorKind::None;
  std::string finish_reason;  // "stop", "length", ... when the upstream said so
  std::optional<ChatUsage> usage;
  bool delivered_any = false;  // some text reached on_delta: the caller refunds quota only if not
  int http_status = 0;         // 0 when no response head arrived
  std::string upstream_code;   // Zhipu error code ("1301") when there was one
  std::string message;         // user-facing, safe to show
  std::string detail;          // for logs: upstream or network message (never a secret)
  bool ok() const { return error == ChatErrorKind::None; }
};

std::string_view to_string(ChatErrorKind kind);
// Zhipu error code first (it is more precise), then the HTTP status (B5).
ChatErrorKind classify_upstream_error(int http_status, std::string_view code);
std::string user_message(ChatErrorKind kind);

}  // namespace chatglmd::llm
