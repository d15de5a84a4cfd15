#include "filter/word_filter.hpp"

#include <algorithm>

#include "filter/text_units.hpp"

namespace chatglmd::filter {
namespace {

constexpr char32_t kBmpEnd = 0x10000;

}  // namespace

std::uint32_t WordFilter::class_of(char32_t unit) const {
  if (unit < kBmpEnd) return bmp_class_[unit];
  auto it = std::lower_bound(far_class_.begin(), far_class_.end(), std::make_pair(unit, 0u));
  return it != far_class_.end() && it->first == unit ? it->second : 0;
}

// The class of the unit at text[pos], advancing pos past it. ASCII and valid three-byte
// sequences (all of CJK) are decoded here; the rest by decode_unit.
inline std::uint32_t WordFilter::next_class(std::string_view text, std::size_t& pos) const {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  const unsigned b0 = bytes[0];
  if (b0 < 0x80) {
    ++pos;
    return ascii_class_[b0];
  }
  if ((b0 & 0xF0) == 0xE0 && text.size() - pos >= 3 && (bytes[1] & 0xC0) == 0x80 &&
      (bytes[2] & 0xC0) == 0x80) {
    const char32_t cp = ((b0 & 0x0F) << 12) | ((bytes[1] & 0x3F) << 6) | (bytes[2] & 0x3F);
    if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) {
      pos += 3;
      return bmp_class_[cp];
    }
  }
  const TextUnit unit = decode_unit(text, pos);
  pos += unit.length;
  return class_of(unit.value);
}

inline std::uint32_t WordFilter::next_state(std::uint32_t state, std::uint32_t cls) const {
  // Unsigned: the root (0) and a link marked kHashed both end the walk.
  while (state - 1 < kHashed - 1) {
    const Unit& unit = units_[state];
    const std::uint32_t child = unit.base + cls;
    if (units_[child].check == state) return child;
    state = unit.fail;
  }
  return state == kRoot ? root_next_[cls] : next_state_slow(state - kHashed, cls);
}

// The walk from a hashed state whose probe missed: its slice, then on along the failure links.
std::uint32_t WordFilter::next_state_slow(std::uint32_t hashed, std::uint32_t cls) const {
  for (;;) {
    const Slice& slice = slices_[units_[hashed].base - hashed_base_];
    const auto* entries = slice_edges_.data() + slice.begin;
    for (std::uint32_t i = hashed_slot(cls, slice.size);; i = (i + 1) & (slice.size - 1)) {
      if (entries[i].first == cls) return entries[i].second;
      if (entries[i].first == 0) break;
    }
    std::uint32_t state = slice.fail;
    while (state - 1 < kHashed - 1) {
      const Unit& unit = units_[state];
      const std::uint32_t child = unit.base + cls;
      if (units_[child].check == state) return child;
      state = unit.fail;
    }
    if (state == kRoot) return root_next_[cls];
    hashed = state - kHashed;
  }
}

template <class OnMatch>
void WordFilter::scan(std::string_view text, OnMatch&& on_match) const {
  std::uint32_t state = kRoot;
  std::size_t index = 0;
  for (std::size_t pos = 0; pos < text.size(); ++index) {
    const std::uint32_t cls = next_class(text, pos);
    // A character that is in no word cannot extend any match.
    state = cls == 0 ? kRoot : next_state(state, cls);
    if (units_[state].longest != 0 && !on_match(index, units_[state].longest, pos)) return;
  }
}

bool WordFilter::contains_any(std::string_view text) const {
  bool found = false;
  scan(text, [&](std::size_t, std::uint32_t, std::size_t) {
    found = true;
    return false;
  });
  return found;
}

std::string WordFilter::mask(std::string_view text) const {
  std::string out;
  mask_into(text, out);
  return out;
}

ScanCounts WordFilter::count(std::string_view text) const {
  if (max_word_units_ > kRecent) {
    std::string unused;
    return mask_by_units(text, unused);
  }
  thread_local std::vector<Range> covered;
  ScanCounts counts = cover(text, covered);
  for (const Range& range : covered) counts.masked += range.last - range.first + 1;
  return counts;
}

ScanCounts WordFilter::mask_into(std::string_view text, std::string& out) const {
  if (word_count_ == 0) {
    out.append(text);
    return {};
  }
  if (max_word_units_ > kRecent) return mask_by_units(text, out);
  // One buffer per thread, kept between calls: no allocation per message.
  thread_local std::vector<Range> covered;
  ScanCounts counts = cover(text, covered);
  std::size_t copied = 0;
  for (const Range& range : covered) {
    out.append(text.substr(copied, range.from_byte - copied));
    out.append(range.last - range.first + 1, '*');
    counts.masked += range.last - range.first + 1;
    copied = range.to_byte;
  }
  out.append(text.substr(copied));
  return counts;
}

// The covered ranges, merged as matches arrive by increasing end (a long word can still swallow
// several earlier ranges), each with its bytes, so the text is never decoded a second time.
// Needs every word to be at most kRecent units long.
ScanCounts WordFilter::cover(std::string_view text, std::vector<Range>& covered) const {
  covered.clear();
  ScanCounts counts;
  std::size_t starts[kRecent];  // byte offset where unit i began, at starts[i % kRecent]
  std::size_t index = 0;
  std::uint32_t state = kRoot;
  for (std::size_t pos = 0; pos < text.size(); ++index) {
    starts[index % kRecent] = pos;
    const std::uint32_t cls = next_class(text, pos);
    state = cls == 0 ? kRoot : next_state(state, cls);
    const std::uint32_t length = units_[state].longest;
    if (length == 0) continue;
    ++counts.hits;
    Range range{index + 1 - length, index, starts[(index + 1 - length) % kRecent], pos};
    while (!covered.empty() && covered.back().last + 1 >= range.first) {
      range.first = std::min(range.first, covered.back().first);
      range.from_byte = std::min(range.from_byte, covered.back().from_byte);
      covered.pop_back();
    }
    covered.push_back(range);
  }
  return counts;
}

// The two-pass mask for dictionaries holding a word longer than the scan's memory of recent
// units: covered unit ranges first, then the text again with those units replaced.
ScanCounts WordFilter::mask_by_units(std::string_view text, std::string& out) const {
  ScanCounts counts;
  std::vector<std::pair<std::size_t, std::size_t>> covered;  // [first, last], merged
  scan(text, [&](std::size_t end, std::uint32_t length, std::size_t) {
    ++counts.hits;
    std::size_t first = end + 1 - length;
    while (!covered.empty() && covered.back().second + 1 >= first) {
      first = std::min(first, covered.back().first);
      covered.pop_back();
    }
    covered.emplace_back(first, end);
    return true;
  });
  if (covered.empty()) {
    out.append(text);
    return counts;
  }
  for (const auto& [first, last] : covered) counts.masked += last - first + 1;
  out.reserve(out.size() + text.size());
  auto range = covered.begin();
  std::size_t index = 0;
  for (std::size_t pos = 0; pos < text.size(); ++index) {
    const TextUnit unit = decode_unit(text, pos);
    while (range != covered.end() && range->second < index) ++range;
    if (range != covered.end() && range->first <= index) {
      out.push_back('*');
    } else {
      out.append(text.substr(pos, unit.length));
    }
    pos += unit.length;
  }
  return counts;
}

}  // namespace chatglmd::filter
