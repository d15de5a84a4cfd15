#pragma once
// Reads what the relay uses from one ChatGLM stream chunk ({"choices":[{"delta":{"content":..},
// "finish_reason":..}],"usage":{..}}) in one pass over the JSON, without building its document:
// building the document was most of the relay's instructions per token. A chunk this pass does
// not take as the document would (an "error" object, a key it reads given twice) is left to the
// document parse (needs_document()).
#include <boost/json/basic_parser.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llm/chat_result.hpp"

namespace chatglmd::llm {

class ChunkScan {
 public:
  // What one chunk said. Reused from chunk to chunk, so a token costs no allocation.
  struct Found {
    std::vector<std::string_view> pieces;  // non-empty delta.content strings, in order
    bool has_finish = false;
    std::string finish_reason;  // the last choice's string finish_reason
    bool has_usage = false;     // "usage" was an object: its three counts (0 when not int64)
    ChatUsage usage;
  };
  enum class Outcome { Read, Malformed, NeedsDocument };

  // `found` (and the views in it) is valid until the next scan.
  Outcome scan(std::string_view json);
  const Found& found() const { return handler_().found; }

  ChunkScan();

 private:
  enum class Frame : std::uint8_t { other, top, choices, choice, delta, usage };
  enum class Role : std::uint8_t {
    none,
    choices,
    usage,
    choice,
    delta,
    finish,
    content,
    prompt,
    completion,
    total
  };

 public:
  // The basic_parser handler (public only for Boost.JSON).
  struct Handler {
    static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
    using error_code = boost::system::error_code;
    using string_view = boost::json::string_view;

    bool on_document_begin(error_code&);
    bool on_document_end(error_code&) { return true; }
    bool on_object_begin(error_code&);
    bool on_object_end(std::size_t, error_code&);
    bool on_array_begin(error_code&);
    bool on_array_end(std::size_t, error_code&);
    bool on_key_part(string_view s, std::size_t, error_code&);
    bool on_key(string_view s, std::size_t, error_code&);
    bool on_string_part(string_view s, std::size_t, error_code&);
    bool on_string(string_view s, std::size_t, error_code&);
    bool on_number_part(string_view, error_code&) { return true; }
    bool on_int64(std::int64_t i, string_view, error_code&);
    bool on_uint64(std::uint64_t, string_view, error_code&);
    bool on_double(double, string_view, error_code&);
    bool on_bool(bool, error_code&);
    bool on_null(error_code&);
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }

    Role take_role();
    bool push(Frame f);
    void pop() { --depth; }
    void string_start();

    static constexpr int kMaxDepth = 64;
    Frame frames[kMaxDepth]{};
    std::uint8_t seen[kMaxDepth]{};  // keys read in each open object, one bit each
    int depth = 0;
    Role next = Role::none;  // the role of the next value of the innermost object
    std::string key;
    bool in_string = false;
    Role string_role = Role::none;
    std::string text;  // the current content or finish_reason string, while it comes in parts
    bool top_is_object = false;
    bool needs_document = false;
    std::string pieces_text;                                  // the pieces, end to end
    std::vector<std::pair<std::size_t, std::size_t>> ranges;  // each piece in pieces_text
    Found found;
  };

 private:
  Handler& handler_() { return parser_.handler(); }
  const Handler& handler_() const { return parser_.handler(); }
  boost::json::basic_parser<Handler> parser_;
};

// The same findings read from the chunk's document: the way for a chunk the scan leaves to it
// (its caller has looked for "error" first), and what the scan is tested against. The views in
// `found` point into `chunk`.
void read_chunk_document(const boost::json::object& chunk, ChunkScan::Found& found);

}  // namespace chatglmd::llm
