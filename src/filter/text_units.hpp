#pragma once
// The units the filter matches on: code points decoded from UTF-8 (bad bytes kept as themselves)
// and the folding that makes "ＡＢＣ", "abc" and "ABC" the same word.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chatglmd::filter {

// A bad byte b becomes kInvalidByteBase + b: outside Unicode, so it never equals a real
// character, yet a word file holding the same bad byte still matches it.
inline constexpr char32_t kInvalidByteBase = 0x110000;

struct TextUnit {
  char32_t value = 0;
  std::uint8_t length = 0;  // bytes taken from the text, 1..4
};

// Decodes the unit starting at text[pos] (pos < text.size()). Overlong forms, surrogates,
// values above U+10FFFF and truncated sequences are not characters: their first byte is taken
// alone as a bad byte, and decoding resumes at the next byte.
inline TextUnit decode_unit(std::string_view text, std::size_t pos) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const std::size_t left = text.size() - pos;
  const auto cont = [&](std::size_t i) { return i < left && (byte(i) & 0xC0) == 0x80; };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return {b0, 1};
  if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) {
    return {static_cast<char32_t>(((b0 & 0x1F) << 6) | (byte(1) & 0x3F)), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF && cont(1) && cont(2)) {
    const char32_t cp = ((b0 & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return {cp, 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    const char32_t cp =
        ((b0 & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
    if (cp >= 0x10000 && cp <= 0x10FFFF) return {cp, 4};
  }
  return {kInvalidByteBase + b0, 1};
}

// Full-width ASCII (U+FF01..U+FF5E) to half-width, the ideographic space to a space, then ASCII
// upper case to lower case: the variants people type to slip a word past a filter.
constexpr char32_t fold_unit(char32_t cp) noexcept {
  if (cp >= 0xFF01 && cp <= 0xFF5E)
    cp -= 0xFEE0;
  else if (cp == 0x3000)
    cp = U' ';
  if (cp >= U'A' && cp <= U'Z') cp += U'a' - U'A';
  return cp;
}

}  // namespace chatglmd::filter
