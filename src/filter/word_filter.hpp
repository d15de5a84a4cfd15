#pragma once
// Sensitive-word matching: an Aho-Corasick automaton over folded code points. A scan costs one
// transition per character of the text (amortised), whatever the size of the dictionary.
#include <bit>
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

// How build lays the automaton out (see WordFilter's tables). The defaults suit any dictionary;
// tests vary them to reach every layout with small dictionaries.
struct LayoutOptions {
  // Places tried for a state's children in the double array before they go to a hashed slice
  // (0: every state but the root hashed).
  std::size_t placement_tries = 1024;
};

// What a build made, for tests and for sizing large dictionaries.
struct Layout {
  std::size_t states = 0;         // trie states, the root included
  std::size_t slots = 0;          // double-array slots: states, holes, the hashed states' block
  std::size_t hashed_states = 0;  // states whose children are in hashed slices
  std::size_t bytes = 0;          // the tables a scan reads
};

class WordFilter {
 public:
  // Words are folded (see text_units.hpp); empty words and duplicates are dropped.
  static std::shared_ptr<const WordFilter> build(const std::vector<std::string>& words,
                                                 const LayoutOptions& options = {});

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
  Layout layout() const;

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
  //
  // A state whose children find no free places together within a bounded search (a wide
  // fan-out over a large alphabet) keeps them in a hashed slice instead, so a huge dictionary
  // costs neither a quadratic build nor a sparse array. Its base points into a block of free
  // slots at the array's end, so its probe misses like any other, and its failure link carries
  // kHashed, which ends the common walk: only then is the slice looked up (next_state_slow).
  struct Unit {
    std::uint32_t base = 0;     // children at base + class; hashed: hashed_base_ + slice
    std::uint32_t check = 0;    // the parent state; kFree for a slot that is no state
    std::uint32_t fail = 0;     // the longest proper suffix that is a state with children;
                                // hashed: kHashed + this state
    std::uint32_t longest = 0;  // units in the longest word ending here, or 0
  };
  // Open addressing, a power of two in size, class 0 marking a free slot.
  struct Slice {
    std::uint32_t begin = 0;  // first entry in slice_edges_
    std::uint32_t size = 0;
    std::uint32_t fail = 0;  // the state's failure link
  };
  static constexpr std::uint32_t kRoot = 0;
  static constexpr std::uint32_t kFree = 0xFFFFFFFFu;
  static constexpr std::uint32_t kHashed = 0x80000000u;  // above every slot of the array
  std::uint32_t next_state_slow(std::uint32_t hashed, std::uint32_t cls) const;
  // Fibonacci hashing: the product's high bits, which depend on every bit of the class.
  static std::uint32_t hashed_slot(std::uint32_t cls, std::uint32_t size) {
    return size == 1 ? 0 : (cls * 0x9E3779B9u) >> (32 - std::countr_zero(size));
  }

  std::uint32_t hashed_base_ = 0;
  std::size_t state_count_ = 0;
  std::vector<std::uint32_t> root_next_;
  std::vector<Unit> units_;
  std::vector<Slice> slices_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> slice_edges_;  // (class, target)
};

}  // namespace chatglmd::filter
