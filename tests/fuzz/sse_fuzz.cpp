// The ChatGLM SSE parser. Property: the stream cut into arbitrary pieces (also inside a UTF-8
// character or between CR and LF) gives the same events as the whole stream in one feed.
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "llm/sse_parser.hpp"

using namespace chatglmd;

namespace {

struct Seen {
  std::string event, data, id;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> parse(std::string_view stream, const std::vector<std::size_t>& cuts) {
  std::vector<Seen> out;
  llm::SseParser parser;
  auto sink = [&](const llm::SseEvent& e) { out.push_back({e.event, e.data, e.id}); };
  std::size_t at = 0;
  for (auto cut : cuts) {
    cut = std::min(cut, stream.size());
    if (cut < at) continue;
    parser.feed(stream.substr(at, cut - at), sink);
    at = cut;
  }
  parser.feed(stream.substr(at), sink);
  parser.reset();
  FUZZ_CHECK(parser.buffered() == 0);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Cursor in(fuzz::as_text(data, size));
  // The first bytes choose the cut points: each is a step forward from the previous cut.
  std::vector<std::size_t> cuts;
  std::size_t at = 0;
  for (auto n = in.byte() % 16; n > 0; --n) cuts.push_back(at += in.byte() % 64);
  std::string_view stream = in.rest();
  auto whole = parse(stream, {});
  FUZZ_CHECK(parse(stream, cuts) == whole);
  // Byte by byte, the hardest split, for streams of a chat's size.
  if (stream.size() <= 512) {
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < stream.size(); ++i) every.push_back(i);
    FUZZ_CHECK(parse(stream, every) == whole);
  }
  return 0;
}
