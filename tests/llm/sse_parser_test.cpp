#include "llm/sse_parser.hpp"

#include <gtest/gtest.h>

#include <random>

namespace chatglmd::llm {
namespace {

// Every feature in one stream: CRLF, CR, LF, comments, multi-line data, a leading space kept
// after the first one, an event/id field, unknown fields, multi-byte Chinese, [DONE].
const std::string kStream =
    ": keep-alive comment\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"你好\"}}]}\r\n"
    "\r\n"
    "event: add\n"
    "id: 42\n"
    "data:  two spaces\n"
    "data: 第二行\n"
    "meta: {\"ignored\":true}\n"
    "\n"
    "data:no space\r"
    "\r"
    "data\n"
    "\n"
    ":only a comment\n"
    "\n"
    "data: [DONE]\n"
    "\n"
    "data: never finished";

std::vector<SseEvent> expected() {
  return {
      {"", "{\"choices\":[{\"delta\":{\"content\":\"你好\"}}]}", ""},
      {"add", " two spaces\n第二行", "42"},
      {"", "no space", ""},
      {"", "", ""},
      {"", "[DONE]", ""},
  };
}

std::vector<SseEvent> parse_in_pieces(const std::vector<std::string_view>& pieces) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (auto piece : pieces) parser.feed(piece, [&](const SseEvent& e) { events.push_back(e); });
  return events;
}

void expect_same(const std::vector<SseEvent>& got, const std::string& label) {
  const auto want = expected();
  ASSERT_EQ(got.size(), want.size()) << label;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].event, want[i].event) << label << " event " << i;
    EXPECT_EQ(got[i].data, want[i].data) << label << " event " << i;
    EXPECT_EQ(got[i].id, want[i].id) << label << " event " << i;
  }
  EXPECT_TRUE(got.back().is_done());
}

TEST(SseParserTest, WholeStream) {
  expect_same(parse_in_pieces({kStream}), "whole");
}

TEST(SseParserTest, SplitAtEveryBytePosition) {
  const std::string_view all = kStream;
  for (std::size_t cut = 0; cut <= all.size(); ++cut)
    expect_same(parse_in_pieces({all.substr(0, cut), all.substr(cut)}),
                "cut at " + std::to_string(cut));
}

TEST(SseParserTest, SplitAtEveryPairOfPositions) {
  const std::string_view all = kStream;
  for (std::size_t a = 0; a <= all.size(); a += 3)
    for (std::size_t b = a; b <= all.size(); b += 5)
      expect_same(parse_in_pieces({all.substr(0, a), all.substr(a, b - a), all.substr(b)}),
                  "cuts " + std::to_string(a) + "," + std::to_string(b));
}

TEST(SseParserTest, OneByteAtATime) {
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < kStream.size(); ++i)
    bytes.push_back(std::string_view(kStream).substr(i, 1));
  expect_same(parse_in_pieces(bytes), "bytewise");
}

TEST(SseParserTest, ByteOrderMarkAtStartIsSkipped) {
  auto events = parse_in_pieces({"\xEF\xBB",
                                 "\xBF"
                                 "data: x\n\n"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParserTest, UnfinishedEventIsNotDelivered) {
  SseParser parser;
  int count = 0;
  parser.feed("data: a\n\ndata: b\n", [&](const SseEvent&) { ++count; });
  EXPECT_EQ(count, 1);
  parser.reset();
  parser.feed("\n", [&](const SseEvent&) { ++count; });
  EXPECT_EQ(count, 1);
}

// What the caller bounds: a line not ended yet, and the data of an event not ended yet.
TEST(SseParserTest, BufferedCountsTheUnfinishedLineAndEvent) {
  SseParser parser;
  int count = 0;
  auto sink = [&](const SseEvent&) { ++count; };
  parser.feed("data: " + std::string(1000, 'x'), sink);
  EXPECT_GE(parser.buffered(), 1000u);
  parser.feed("\n", sink);
  EXPECT_GE(parser.buffered(), 1000u) << "the event's data is still held";
  for (int i = 0; i < 10; ++i) parser.feed("data: " + std::string(1000, 'y') + "\n", sink);
  EXPECT_GE(parser.buffered(), 11000u);
  parser.feed("\n", sink);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(parser.buffered(), 0u);
}

// The WHATWG rules applied to a whole stream at once, the plain way: split into lines, then
// read each. The incremental parser must agree with it however the bytes are cut.
std::vector<SseEvent> reference_parse(std::string_view all) {
  if (all.starts_with("\xEF\xBB\xBF")) all.remove_prefix(3);
  std::vector<SseEvent> events;
  SseEvent pending;
  bool has_data = false;
  std::size_t pos = 0;
  while (pos < all.size()) {
    const auto end = all.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) break;  // a line never ended is dropped
    const std::string_view line = all.substr(pos, end - pos);
    pos = end + (all.substr(end, 2) == "\r\n" ? 2 : 1);
    if (line.empty()) {
      if (has_data) events.push_back(pending);
      pending = SseEvent{};
      has_data = false;
      continue;
    }
    if (line.front() == ':') continue;
    const auto colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (field == "data") {
      if (has_data) pending.data += '\n';
      pending.data += value;
      has_data = true;
    } else if (field == "event") {
      pending.event = value;
    } else if (field == "id") {
      pending.id = value;
    }
  }
  return events;
}

TEST(SseParserTest, AgreesWithAWholeStreamReferenceOnRandomStreamsAndCuts) {
  // Tokens that make every rule fire often: each line ending, fields, colons, spaces, a BOM
  // (only special at the start), multi-byte text and bytes that are not UTF-8.
  const std::vector<std::string> tokens = {
      "\r", "\n", "\r\n", "data",         "data:",    "data: ", "event:", "id: ",  ":",
      " ",  "x",  "é",    "\xEF\xBB\xBF", "\xE4\xBD", "\xFF",   "[DONE]", "meta:", "retry: 1"};
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string stream;
    const int length = static_cast<int>(rng() % 40);
    for (int i = 0; i < length; ++i) stream += tokens[rng() % tokens.size()];
    const auto want = reference_parse(stream);
    std::vector<std::string_view> pieces;
    for (std::size_t pos = 0; pos < stream.size();) {
      const std::size_t n = 1 + rng() % 7;
      pieces.push_back(std::string_view(stream).substr(pos, n));
      pos += n;
    }
    const auto got = parse_in_pieces(pieces);
    ASSERT_EQ(got.size(), want.size()) << ::testing::PrintToString(stream);
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].data, want[i].data) << ::testing::PrintToString(stream);
      ASSERT_EQ(got[i].event, want[i].event) << ::testing::PrintToString(stream);
      ASSERT_EQ(got[i].id, want[i].id) << ::testing::PrintToString(stream);
    }
  }
}

TEST(SseParserTest, RandomBytesNeverBreakIt) {
  std::mt19937 rng(11);
  SseParser parser;
  std::size_t events = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bytes;
    const std::size_t length = rng() % 256;
    // Line ends and field names are common enough that events are completed now and then.
    while (bytes.size() < length) {
      const unsigned r = rng() % 16;
      if (r < 2)
        bytes += '\n';
      else if (r == 2)
        bytes += '\r';
      else if (r == 3)
        bytes += "data:";
      else
        bytes += static_cast<char>(rng() % 256);
    }
    parser.feed(bytes, [&](const SseEvent& e) {
      ++events;
      ASSERT_EQ(e.data.find('\r'), std::string::npos);
      ASSERT_EQ(e.event.find_first_of("\r\n"), std::string::npos);
      ASSERT_EQ(e.id.find_first_of("\r\n"), std::string::npos);
    });
    if (round % 100 == 99) parser.reset();
  }
  EXPECT_GT(events, 0u);
}

}  // namespace
}  // namespace chatglmd::llm
