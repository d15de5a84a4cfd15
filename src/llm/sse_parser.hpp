#pragma once
// Incremental Server-Sent Events parser (WHATWG rules, as the Zhipu SDKs apply them, B3):
// bytes may be split anywhere, including inside a UTF-8 character or between CR and LF.
#include <functional>
#include <string>
#include <string_view>

namespace chatglmd::llm {

struct SseEvent {
  std::string event;  // "" when no event: field (the "message" type)
  std::string data;   // data: lines joined with '\n'
  std::string id;
  bool is_done() const { return data == "[DONE]"; }  // OpenAI/Zhipu end marker
};

class SseParser {
 public:
  using Sink = std::function<void(const SseEvent&)>;
  // Calls sink once per complete event (a blank line ends it). Unknown fields (v3 "meta:") and
  // comment lines (":...") are ignored.
  void feed(std::string_view bytes, const Sink& sink);
  // The stream ended: an event without its closing blank line is dropped, as the spec says.
  void reset();
  // Bytes of the unfinished line and of the unfinished event's data kept between feeds: what the
  // caller bounds (the parser itself keeps whatever the stream sends).
  std::size_t buffered() const { return line_.size() + pending_.data.size(); }

 private:
  void feed_start(char c, const Sink& sink);
  void end_line(std::string_view tail, const Sink& sink);
  void line(std::string_view text, const Sink& sink);
  void clear_pending();

  std::string line_;
  bool skip_lf_ = false;  // the previous piece ended in CR: a leading LF belongs to it
  bool at_start_ = true;  // a UTF-8 BOM may open the stream
  bool has_data_ = false;
  SseEvent pending_;
};

}  // namespace chatglmd::llm
