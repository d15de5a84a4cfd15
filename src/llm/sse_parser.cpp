#include "llm/sse_parser.hpp"

namespace chatglmd::llm {

void SseParser::feed(std::string_view bytes, const Sink& sink) {
  for (char c : bytes) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = c == '\r';
      std::string text = std::move(line_);
      line_.clear();
      line(text, sink);
      continue;
    }
    line_.push_back(c);
    if (at_start_ && line_.size() <= 3) {
      if (line_ == "\xEF\xBB\xBF") {
        line_.clear();
        at_start_ = false;
      } else if (std::string_view("\xEF\xBB\xBF").substr(0, line_.size()) != line_) {
        at_start_ = false;
      }
    }
  }
}

void SseParser::line(std::string_view text, const Sink& sink) {
  at_start_ = false;
  if (text.empty()) {
    if (has_data_) sink(pending_);
    pending_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (text.front() == ':') return;  // comment / keep-alive
  const auto colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    pending_.event = std::string(value);
  } else if (field == "id") {
    pending_.id = std::string(value);
  }
}

void SseParser::reset() {
  line_.clear();
  skip_lf_ = false;
  at_start_ = true;
  has_data_ = false;
  pending_ = SseEvent{};
}

}  // namespace chatglmd::llm
