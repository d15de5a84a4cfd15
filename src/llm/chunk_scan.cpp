#include "llm/chunk_scan.hpp"

#include <boost/json/basic_parser_impl.hpp>

namespace chatglmd::llm {

ChunkScan::ChunkScan() : parser_(boost::json::parse_options{}) {}

ChunkScan::Outcome ChunkScan::scan(std::string_view json) {
  parser_.reset();
  boost::system::error_code ec;
  const std::size_t used = parser_.write_some(false, json.data(), json.size(), ec);
  if (!ec)
    for (char c : json.substr(used))
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return Outcome::Malformed;
  Handler& h = handler_();
  if (ec || !h.top_is_object) return Outcome::Malformed;
  if (h.needs_document) return Outcome::NeedsDocument;
  h.found.pieces.clear();
  for (const auto& [at, size] : h.ranges)
    h.found.pieces.emplace_back(std::string_view(h.pieces_text).substr(at, size));
  return Outcome::Read;
}

bool ChunkScan::Handler::on_document_begin(error_code&) {
  depth = 0;
  next = Role::none;
  key.clear();
  in_string = false;
  top_is_object = false;
  needs_document = false;
  pieces_text.clear();
  ranges.clear();
  found.has_finish = false;
  found.finish_reason.clear();
  found.has_usage = false;
  found.usage = {};
  return true;
}

// The role of the value that starts now, from where it stands.
ChunkScan::Role ChunkScan::Handler::take_role() {
  if (depth == 0) return Role::none;
  if (frames[depth - 1] == Frame::choices) return Role::choice;
  const Role r = next;
  next = Role::none;
  return r;
}

bool ChunkScan::Handler::push(Frame f) {
  if (depth == kMaxDepth) {
    needs_document = true;  // deeper than the document parse allows anyway: it decides
    return false;
  }
  frames[depth] = f;
  seen[depth] = 0;
  ++depth;
  return true;
}

bool ChunkScan::Handler::on_object_begin(error_code&) {
  if (depth == 0) {
    top_is_object = true;
    return push(Frame::top);
  }
  switch (take_role()) {
    case Role::usage:
      found.has_usage = true;
      found.usage = {};
      return push(Frame::usage);
    case Role::choice:
      return push(Frame::choice);
    case Role::delta:
      return push(Frame::delta);
    default:
      return push(Frame::other);
  }
}

bool ChunkScan::Handler::on_object_end(std::size_t, error_code&) {
  pop();
  return true;
}

bool ChunkScan::Handler::on_array_begin(error_code&) {
  return push(take_role() == Role::choices ? Frame::choices : Frame::other);
}

bool ChunkScan::Handler::on_array_end(std::size_t, error_code&) {
  pop();
  return true;
}

bool ChunkScan::Handler::on_key_part(string_view s, std::size_t, error_code&) {
  key.append(s.data(), s.size());
  return true;
}

bool ChunkScan::Handler::on_key(string_view s, std::size_t, error_code&) {
  key.append(s.data(), s.size());
  struct Known {
    Frame frame;
    std::string_view name;
    Role role;
  };
  static constexpr Known kKnown[] = {
      {Frame::top, "choices", Role::choices},
      {Frame::top, "usage", Role::usage},
      {Frame::top, "error", Role::none},
      {Frame::choice, "delta", Role::delta},
      {Frame::choice, "finish_reason", Role::finish},
      {Frame::delta, "content", Role::content},
      {Frame::usage, "prompt_tokens", Role::prompt},
      {Frame::usage, "completion_tokens", Role::completion},
      {Frame::usage, "total_tokens", Role::total},
  };
  next = Role::none;
  const Frame frame = frames[depth - 1];
  std::uint8_t bit = 1;
  for (const auto& k : kKnown) {
    if (k.frame != frame) continue;
    if (k.name == key) {
      // An error object, or a key given twice (the document keeps one of them): the document
      // parse reads this chunk.
      if (k.role == Role::none || (seen[depth - 1] & bit)) needs_document = true;
      seen[depth - 1] |= bit;
      next = k.role;
      break;
    }
    bit <<= 1;
  }
  key.clear();
  return true;
}

void ChunkScan::Handler::string_start() {
  if (in_string) return;
  in_string = true;
  string_role = take_role();
  text.clear();
}

bool ChunkScan::Handler::on_string_part(string_view s, std::size_t, error_code&) {
  string_start();
  if (string_role == Role::content || string_role == Role::finish) text.append(s.data(), s.size());
  return true;
}

bool ChunkScan::Handler::on_string(string_view s, std::size_t, error_code&) {
  string_start();
  in_string = false;
  if (string_role == Role::content) {
    text.append(s.data(), s.size());
    if (!text.empty()) {
      ranges.emplace_back(pieces_text.size(), text.size());
      pieces_text += text;
    }
  } else if (string_role == Role::finish) {
    text.append(s.data(), s.size());
    found.has_finish = true;
    found.finish_reason = text;
  }
  return true;
}

bool ChunkScan::Handler::on_int64(std::int64_t i, string_view, error_code&) {
  switch (take_role()) {
    case Role::prompt:
      found.usage.prompt_tokens = static_cast<int>(i);
      break;
    case Role::completion:
      found.usage.completion_tokens = static_cast<int>(i);
      break;
    case Role::total:
      found.usage.total_tokens = static_cast<int>(i);
      break;
    default:
      break;
  }
  return true;
}

// Other values only take their place: a count that is not an int64 stays 0, as in the document.
bool ChunkScan::Handler::on_uint64(std::uint64_t, string_view, error_code&) {
  take_role();
  return true;
}
bool ChunkScan::Handler::on_double(double, string_view, error_code&) {
  take_role();
  return true;
}
bool ChunkScan::Handler::on_bool(bool, error_code&) {
  take_role();
  return true;
}
bool ChunkScan::Handler::on_null(error_code&) {
  take_role();
  return true;
}

void read_chunk_document(const boost::json::object& chunk, ChunkScan::Found& found) {
  found.pieces.clear();
  found.has_finish = false;
  found.finish_reason.clear();
  found.has_usage = false;
  found.usage = {};
  if (const auto* choices = chunk.if_contains("choices"); choices && choices->is_array()) {
    for (const auto& choice : choices->as_array()) {
      if (!choice.is_object()) continue;
      const auto& c = choice.as_object();
      if (const auto* delta = c.if_contains("delta"); delta && delta->is_object()) {
        if (const auto* content = delta->as_object().if_contains("content");
            content && content->is_string() && !content->as_string().empty())
          found.pieces.emplace_back(content->as_string().data(), content->as_string().size());
      }
      if (const auto* reason = c.if_contains("finish_reason"); reason && reason->is_string()) {
        found.has_finish = true;
        found.finish_reason = std::string(reason->as_string());
      }
    }
  }
  if (const auto* usage = chunk.if_contains("usage"); usage && usage->is_object()) {
    const auto& o = usage->as_object();
    auto number = [&](const char* key) {
      const auto* v = o.if_contains(key);
      return v && v->is_int64() ? static_cast<int>(v->as_int64()) : 0;
    };
    found.has_usage = true;
    found.usage.prompt_tokens = number("prompt_tokens");
    found.usage.completion_tokens = number("completion_tokens");
    found.usage.total_tokens = number("total_tokens");
  }
}

}  // namespace chatglmd::llm
