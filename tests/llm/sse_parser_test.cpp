#include "llm/sse_parser.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace chatglmd::llm
