#pragma once
// Sensitive-word matching: an Aho-Corasick automaton over folded code points. A scan costs one
// transition per character of the text (amortised), whatever the size of the dictionary.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatglmd::filter {

// What one scan found: word occurrences (where several words end at the same character, the
// longest one) and the code points they cover.
struct ScanCounts {
  std::size_t hits = 0;
  std::size_t masked = 0;
};

class WordFilter {
 public:
  // Words are folded (see text_units.hpp); empty words and duplicates are dropped.
  static std::shared_ptr<const WordFilter> build(const std::vector<std::string>& words);

  // The text with every code point covered by some word replaced by one '*'; overlapping and
  // nested words are all covered. Bad bytes count as one code point each, so the result is
  // valid UTF-8 wherever the input was.
  std::string mask(std::string_view text) const;
  // The same masking appended to `out`, for callers that reuse one buffer over many texts.
  ScanCounts mask_into(std::string_view text, std::string& out) const;
  ScanCounts count(std::string_view text) const;
  bool contains_any(std::string_view text) const;
  // Distinct words after folding.
  std::size_t size() const { return word_count_; }

 private:
  WordFilter() = default;

  std::uint32_t class_of(char32_t folded) const;
  std::uint32_t next_state(std::uint32_t state, std::uint32_t cls) const;
  // Calls on_match(end_unit_index, length_in_units) for the longest word ending at each unit;
  // stops early when on_match returns false.
  template <class OnMatch>
  void scan(std::string_view text, OnMatch&& on_match) const;

  std::size_t word_count_ = 0;
  // Character classes: 0 for characters in no word, so the scan falls back to the root at once.
  std::vector<std::uint32_t> bmp_class_;                       // indexed by code point < 0x10000
  std::vector<std::pair<char32_t, std::uint32_t>> far_class_;  // sorted; astral and bad bytes
  // The automaton, flat: the root's transitions are a dense table by class, every other state's
  // are a sorted slice of edges_ (most states have one or two children).
  std::vector<std::uint32_t> root_next_;
  std::vector<std::uint32_t> edge_begin_;                       // size states + 1
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges_;  // (class, target)
  std::vector<std::uint32_t> fail_;
  std::vector<std::uint32_t> longest_;  // units in the longest word ending at this state, or 0
};

}  // namespace chatglmd::filter
