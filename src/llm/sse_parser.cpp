#include "llm/sse_parser.hpp"

#include <cstring>

namespace chatglmd::llm {

// The first bytes of a stream, one at a time, until it is clear whether a BOM opens it.
void SseParser::feed_start(char c, const Sink& sink) {
  if (c == '\r' || c == '\n') {
    skip_lf_ = c == '\r';
    end_line(std::string_view{}, sink);
    return;
  }
  line_.push_back(c);
  if (line_ == "\xEF\xBB\xBF") {
    line_.clear();
    at_start_ = false;
  } else if (std::string_view("\xEF\xBB\xBF").substr(0, line_.size()) != line_) {
    at_start_ = false;
  }
}

namespace {

// Where the next line ends in one piece of input: the first CR or LF (npos: none). Two memchr
// scans, which go many bytes a step (string_view::find_first_of("\r\n") calls memchr on the
// two-byte set once per byte, a fifth of the relay's instructions per token). The LF found is
// kept until the parse passes it, so lines ended by CR alone do not rescan the rest of the
// piece for an LF each time (that was quadratic in a CR-only stream).
class LineEnds {
 public:
  std::size_t next(std::string_view bytes) {
    if (!scanned_ || (lf_ && lf_ < bytes.data())) {
      lf_ = static_cast<const char*>(std::memchr(bytes.data(), '\n', bytes.size()));
      scanned_ = true;
    }
    const std::size_t before = lf_ ? static_cast<std::size_t>(lf_ - bytes.data()) : bytes.size();
    if (const auto* cr = static_cast<const char*>(std::memchr(bytes.data(), '\r', before)))
      return static_cast<std::size_t>(cr - bytes.data());
    return lf_ ? before : std::string_view::npos;
  }

 private:
  bool scanned_ = false;
  const char* lf_ = nullptr;  // the first LF at or after the parse's place; none when null
};

}  // namespace

void SseParser::feed(std::string_view bytes, const Sink& sink) {
  LineEnds ends;  // pointers into `bytes`, which only loses its front below
  while (!bytes.empty()) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    if (at_start_) {
      feed_start(bytes.front(), sink);
      bytes.remove_prefix(1);
      continue;
    }
    const auto end = ends.next(bytes);
    if (end == std::string_view::npos) {
      line_.append(bytes);  // the rest of this line comes with a later piece
      return;
    }
    skip_lf_ = bytes[end] == '\r';
    end_line(bytes.substr(0, end), sink);
    bytes.remove_prefix(end + 1);
  }
}

// A line ends: `tail` is its part in the current piece. A line that lies whole in one piece (the
// usual case) is read where it is, without a copy.
void SseParser::end_line(std::string_view tail, const Sink& sink) {
  if (line_.empty()) {
    line(tail, sink);
    return;
  }
  line_.append(tail);
  line(line_, sink);
  line_.clear();
}

void SseParser::line(std::string_view text, const Sink& sink) {
  at_start_ = false;
  if (text.empty()) {
    if (has_data_) sink(pending_);
    clear_pending();
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
    pending_.event.assign(value);
  } else if (field == "id") {
    pending_.id.assign(value);
  }
}

// Cleared rather than replaced, so the next event reuses the strings' memory.
void SseParser::clear_pending() {
  pending_.event.clear();
  pending_.data.clear();
  pending_.id.clear();
  has_data_ = false;
}

void SseParser::reset() {
  line_.clear();
  skip_lf_ = false;
  at_start_ = true;
  clear_pending();
}

}  // namespace chatglmd::llm
