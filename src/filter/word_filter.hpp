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

  std::uint32_t class_of(char32_t unit) const;
  std::uint32_t next_class(std::string_view text, std::size_t& pos) const;
  std::uint32_t next_state(std::uint32_t state, std::uint32_t cls) const;
  // Calls on_match(end_unit_index, length_in_units, byte_after_end) for the longest word ending
  // at each unit; stops early when on_match returns false.
  template <class OnMatch>
  void scan(std::string_view text, OnMatch&& on_match) const;
  // The scan remembers where the last kRecent units started, so a match's bytes are known
  // without decoding the text a second time; a longer word takes the slower mask_by_units.
  static constexpr std::size_t kRecent = 64;
  struct Range {
    std::size_t first, last;         // units, inclusive
    std::size_t from_byte, to_byte;  // [from, to)
  };
  ScanCounts cover(std::string_view text, std::vector<Range>& covered) const;
  ScanCounts mask_by_units(std::string_view text, std::string& out) const;

  std::size_t word_count_ = 0;
  std::uint32_t max_word_units_ = 0;
  // Character classes: 0 for characters in no word, so the scan falls back to the root at once.
  // Indexed by code point (< 0x10000), folding included: 'A' and U+FF21 have the class of 'a'.
  std::uint32_t ascii_class_[128] = {};
  std::vector<std::uint32_t> bmp_class_;
  std::vector<std::pair<char32_t, std::uint32_t>> far_class_;  // sorted; astral and bad bytes
  // The automaton as a double array: state t's child by class c is slot units_[t].base + c
  // when that slot's check names t, so a step costs one probe into a line that also holds the
  // next state's base, failure link and output. The root's transitions are a dense table by
  // class instead (nearly every class has one). Failure links skip states without children,
  // which could only pass the walk on. (A full table per state would save the failure walk,
  // but copies the wide first-character states into most others: 30x the memory for 10,000
  // words, and the scan then waits on cache misses instead.)
  struct Unit {
    std::uint32_t base = 0;     // children at base + class
    std::uint32_t check = 0;    // the parent state; kFree for a slot that is no state
    std::uint32_t fail = 0;     // the longest proper suffix that is a state with children
    std::uint32_t longest = 0;  // units in the longest word ending here, or 0
  };
  std::vector<std::uint32_t> root_next_;
  std::vector<Unit> units_;
};

}  // namespace chatglmd::filter
