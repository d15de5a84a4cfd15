// ChunkScan against the document reading it stands in for (boost::json::parse, then
// read_chunk_document, as ChatGlmClient reads a chunk the scan leaves to it): handwritten chunks,
// then random chunk-like documents with every kind of value in every place, keys given twice,
// escapes, cut or padded text.
#include "llm/chunk_scan.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <optional>
#include <random>

namespace chatglmd::llm {
namespace {

namespace json = boost::json;

struct Reading {
  ChunkScan::Outcome outcome = ChunkScan::Outcome::Read;
  std::vector<std::string> pieces;
  std::optional<std::string> finish_reason;
  std::optional<ChatUsage> usage;
};

Reading of(const ChunkScan::Found& f) {
  Reading r;
  for (auto piece : f.pieces) r.pieces.emplace_back(piece);
  if (f.has_finish) r.finish_reason = f.finish_reason;
  if (f.has_usage) r.usage = f.usage;
  return r;
}

// What ChatGlmClient reads from a chunk's document (on_event_document): parsed whole, "error"
// looked for first, then read_chunk_document.
Reading by_document(std::string_view text) {
  Reading r;
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec || !value.is_object()) {
    r.outcome = ChunkScan::Outcome::Malformed;
    return r;
  }
  const auto& chunk = value.as_object();
  if (chunk.if_contains("error")) {
    r.outcome = ChunkScan::Outcome::NeedsDocument;
    return r;
  }
  ChunkScan::Found found;
  read_chunk_document(chunk, found);
  return of(found);
}

Reading by_scan(ChunkScan& scan, std::string_view text) {
  const auto outcome = scan.scan(text);
  if (outcome != ChunkScan::Outcome::Read) return Reading{outcome, {}, {}, {}};
  return of(scan.found());
}

// The scan reads a chunk as the document did, or leaves it to the document (never for the
// usual chunk).
void expect_same(ChunkScan& scan, const std::string& text, bool usual = false) {
  SCOPED_TRACE(text);
  const Reading doc = by_document(text);
  const Reading got = by_scan(scan, text);
  if (got.outcome == ChunkScan::Outcome::NeedsDocument && !usual &&
      doc.outcome != ChunkScan::Outcome::Malformed)
    return;  // the client then reads it by_document
  ASSERT_EQ(static_cast<int>(got.outcome), static_cast<int>(doc.outcome));
  EXPECT_EQ(got.pieces, doc.pieces);
  EXPECT_EQ(got.finish_reason, doc.finish_reason);
  ASSERT_EQ(got.usage.has_value(), doc.usage.has_value());
  if (doc.usage) {
    EXPECT_EQ(got.usage->prompt_tokens, doc.usage->prompt_tokens);
    EXPECT_EQ(got.usage->completion_tokens, doc.usage->completion_tokens);
    EXPECT_EQ(got.usage->total_tokens, doc.usage->total_tokens);
  }
}

TEST(ChunkScanTest, UsualChunksAreReadWithoutTheDocument) {
  ChunkScan scan;
  for (
      const std::string text : {
          R"({"id":"1","created":1,"model":"glm-4","choices":[{"index":0,"delta":{"role":"assistant","content":"你好"}}]})",
          R"({"choices":[{"index":0,"delta":{"content":"say \"hi\"\\ \n\t\u0001 \ud83d\ude00"}}]})",
          R"({"choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":11,"total_tokens":14}})",
          R"({"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}},7,[],{"finish_reason":"length"}]})",
          R"(  {"choices":[]}  )",
          R"({"usage":{"prompt_tokens":1.5,"completion_tokens":18446744073709551615,"total_tokens":-2}})",
          R"({"choices":{"delta":{"content":"not an array"}},"x":{"choices":[{"delta":{"content":"deeper"}}]}})",
          R"({"choices":[{"delta":{"content":["x"],"x":{"content":"no"}},"finish_reason":null}]})",
      })
    expect_same(scan, text, true);
  EXPECT_EQ(scan.scan(R"({"choices":[{"delta":{"content":"x"}}],"choices":[]})"),
            ChunkScan::Outcome::NeedsDocument);
  EXPECT_EQ(scan.scan(R"({"error":{"code":"1301","message":"no"}})"),
            ChunkScan::Outcome::NeedsDocument);
  for (const std::string text : {"", "[1]", "\"s\"", "{", R"({"choices":[}]})", "{} x", "{}{}"})
    EXPECT_EQ(scan.scan(text), ChunkScan::Outcome::Malformed) << text;
}

// Random chunk-like documents.
class Chunks {
 public:
  explicit Chunks(unsigned seed) : rng_(seed) {}
  std::string chunk() {
    if (pick(30) == 0) return any(0);
    if (pick(10) == 0) return object(0, {"id", "choices", "usage", "model", "error", "created"});
    return object(0, {"id", "choices", "usage", "model", "created"});
  }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  std::string string_value() {
    static const char* kTexts[] = {"",           "a",       "你好",           "say \\\"hi\\\"",
                                   "\\n\\t\\\\", "\\u00e9", "\\ud83d\\ude00", "stop",
                                   "length",     "x y z"};
    return std::string("\"") + kTexts[pick(std::size(kTexts))] + "\"";
  }
  std::string any(int depth) {
    switch (pick(depth > 3 ? 6 : 9)) {
      case 0:
        return string_value();
      case 1:
        return std::to_string(static_cast<long long>(pick(1000)) - 500);
      case 2:
        return "18446744073709551615";
      case 3:
        return "1.25";
      case 4:
        return pick(2) ? "true" : "null";
      case 5:
        return "-0";
      case 6:
        return array(depth + 1);
      case 7:
        return object(depth + 1, {"choices", "delta", "content", "finish_reason", "usage"});
      default:
        return object(depth + 1, {"delta", "content", "finish_reason", "prompt_tokens",
                                  "completion_tokens", "total_tokens", "index", "role"});
    }
  }
  std::string array(int depth) {
    std::string out = "[";
    const std::size_t n = pick(4);
    for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + any(depth);
    return out + "]";
  }
  std::string object(int depth, std::vector<std::string> keys) {
    std::string out = "{";
    const std::size_t n = pick(4) + (depth < 3 ? 1 : 0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& key = keys[pick(keys.size())];
      out += (i ? "," : "") + ("\"" + key + "\":") + value_for(key, depth);
    }
    return out + "}";
  }
  // Mostly the shape the key has in a real chunk, sometimes anything.
  std::string value_for(const std::string& key, int depth) {
    if (pick(5) == 0 || depth > 4) return any(depth);
    if (key == "choices") {
      std::string out = "[";
      const std::size_t n = pick(3) + 1;
      for (std::size_t i = 0; i < n; ++i)
        out += (i ? "," : "") + object(depth + 1, {"index", "delta", "finish_reason", "x"});
      return out + "]";
    }
    if (key == "delta") return object(depth + 1, {"role", "content", "x"});
    if (key == "usage")
      return object(depth + 1, {"prompt_tokens", "completion_tokens", "total_tokens", "x"});
    if (key == "content" || key == "finish_reason" || key == "role") return string_value();
    if (key.ends_with("_tokens")) return std::to_string(pick(100000));
    return any(depth);
  }
  std::mt19937 rng_;
};

TEST(ChunkScanTest, AgreesWithTheDocumentOnRandomChunks) {
  ChunkScan scan;
  Chunks chunks(20261202);
  std::mt19937 cut(7);
  int read = 0, with_pieces = 0, with_usage = 0, left = 0, malformed = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string text = chunks.chunk();
    if (i % 10 == 0) text.resize(std::uniform_int_distribution<std::size_t>(0, text.size())(cut));
    if (i % 17 == 0) text += i % 2 ? " \n" : " x";
    expect_same(scan, text);
    if (::testing::Test::HasFailure()) break;
    switch (scan.scan(text)) {
      case ChunkScan::Outcome::Read:
        ++read;
        with_pieces += !scan.found().pieces.empty();
        with_usage += scan.found().has_usage;
        break;
      case ChunkScan::Outcome::NeedsDocument:
        ++left;
        break;
      case ChunkScan::Outcome::Malformed:
        ++malformed;
        break;
    }
  }
  // Every outcome came up often enough to mean something.
  EXPECT_GT(read, 5000);
  EXPECT_GT(with_pieces, 500);
  EXPECT_GT(with_usage, 500);
  EXPECT_GT(left, 500);
  EXPECT_GT(malformed, 500);
  std::printf("read %d (with pieces %d, usage %d), left to the document %d, malformed %d\n", read,
              with_pieces, with_usage, left, malformed);
}

}  // namespace
}  // namespace chatglmd::llm
