#include "llm/chat_result.hpp"

#include <charconv>

namespace chatglmd::llm {

std::string_view to_string(ChatErrorKind kind) {
  switch (kind) {
    case ChatErrorKind::None:
      return "none";
    case ChatErrorKind::Auth:
      return "auth";
    case ChatErrorKind::RateLimited:
      return "rate_limited";
    case ChatErrorKind::Sensitive:
      return "sensitive";
    case ChatErrorKind::Balance:
      return "balance";
    case ChatErrorKind::BadRequest:
      return "bad_request";
    case ChatErrorKind::Upstream:
      return "upstream";
    case ChatErrorKind::Timeout:
      return "timeout";
    case ChatErrorKind::Cancelled:
      return "cancelled";
  }
  return "unknown";
}

ChatErrorKind classify_upstream_error(int http_status, std::string_view code) {
  int number = 0;
  const auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), number);
  if (ec == std::errc() && end == code.data() + code.size()) {
    if (number >= 1000 && number <= 1004) return ChatErrorKind::Auth;
    if (number == 1113) return ChatErrorKind::Balance;
    if (number == 1301) return ChatErrorKind::Sensitive;
    if (number >= 1302 && number <= 1305) return ChatErrorKind::RateLimited;
    if ((number >= 1210 && number <= 1215) || number == 1261) return ChatErrorKind::BadRequest;
  }
  if (http_status == 401) return ChatErrorKind::Auth;
  if (http_status == 429) return ChatErrorKind::RateLimited;
  if (http_status >= 400 && http_status < 500) return ChatErrorKind::BadRequest;
  return ChatErrorKind::Upstream;
}

std::string user_message(ChatErrorKind kind) {
  switch (kind) {
    case ChatErrorKind::None:
      return "";
    case ChatErrorKind::Auth:
      return "The AI service refused our credentials. Please try again later.";
    case ChatErrorKind::RateLimited:
      return "The AI service is busy right now. Please try again in a moment.";
    case ChatErrorKind::Sensitive:
      return "The question or the answer was blocked by content moderation.";
    case ChatErrorKind::Balance:
      return "The AI service is temporarily unavailable (service balance). Please try again later.";
    case ChatErrorKind::BadRequest:
      return "The AI service could not accept this request (too long or invalid).";
    case ChatErrorKind::Upstream:
      return "The AI service failed to answer. Please try again.";
    case ChatErrorKind::Timeout:
      return "The AI service did not answer in time. Please try again.";
    case ChatErrorKind::Cancelled:
      return "The request was cancelled.";
  }
  return "";
}

}  // namespace chatglmd::llm
