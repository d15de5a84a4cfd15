#include "filter/word_filter.hpp"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "filter/text_units.hpp"

namespace chatglmd::filter {
namespace {

constexpr std::uint32_t kRoot = 0;
constexpr char32_t kBmpEnd = 0x10000;

using Edge = std::pair<std::uint32_t, std::uint32_t>;  // (class, target)
// The check of a double-array slot that holds no state: no state has this number.
constexpr std::uint32_t kFree = 0xFFFFFFFFu;

std::vector<char32_t> folded_units(std::string_view word) {
  std::vector<char32_t> units;
  for (std::size_t pos = 0; pos < word.size();) {
    const TextUnit unit = decode_unit(word, pos);
    units.push_back(fold_unit(unit.value));
    pos += unit.length;
  }
  return units;
}

// The trie while it is being built; flattened into WordFilter's arrays afterwards.
struct BuildNode {
  std::vector<Edge> children;  // sorted by class
  std::uint32_t depth = 0;
  bool terminal = false;

  std::uint32_t child(std::uint32_t cls) const {
    auto it = std::lower_bound(children.begin(), children.end(), Edge{cls, 0u});
    return it != children.end() && it->first == cls ? it->second : kRoot;
  }
};

// Free slots of the double array while states are placed: "the first free slot at or after x"
// through links that skip taken runs (union-find with path halving), so placing a state costs
// about the number of places tried, not the length of the array.
class SlotPlanner {
 public:
  bool taken(std::size_t slot) const { return slot < next_.size() && next_[slot] != slot; }
  void take(std::size_t slot) {
    grow(slot + 2);
    next_[slot] = slot + 1;
  }
  std::size_t end() const { return next_.size(); }

  // The smallest base at which every class in `children` (sorted, not empty) meets a free slot.
  std::size_t first_fit(const std::vector<Edge>& children) {
    const std::size_t first = children.front().first;
    std::size_t tries = 0;
    for (std::size_t slot = free_from(std::max(start_, first));; slot = free_from(slot + 1)) {
      const std::size_t base = slot - first;
      const bool fits = std::none_of(children.begin() + 1, children.end(),
                                     [&](const Edge& e) { return taken(base + e.first); });
      if (fits) return base;
      // Holes that many child sets did not fit are left to later searches' other children;
      // a first child is sought after them, so a dense array costs no quadratic build.
      if (++tries == kMaxTries) start_ = slot;
    }
  }

 private:
  static constexpr std::size_t kMaxTries = 64;

  void grow(std::size_t size) {
    for (std::size_t slot = next_.size(); slot < size; ++slot) next_.push_back(slot);
  }
  std::size_t free_from(std::size_t slot) {
    while (slot < next_.size() && next_[slot] != slot) {
      if (next_[slot] < next_.size()) next_[slot] = next_[next_[slot]];
      slot = next_[slot];
    }
    return slot;
  }

  std::vector<std::size_t> next_;  // next_[s] == s: free; else a slot at or before the next free
  std::size_t start_ = 1;          // slot 0 is the root
};

}  // namespace

std::shared_ptr<const WordFilter> WordFilter::build(const std::vector<std::string>& words) {
  std::shared_ptr<WordFilter> filter(new WordFilter());
  filter->bmp_class_.assign(kBmpEnd, 0);
  std::unordered_map<char32_t, std::uint32_t> far_classes;
  std::uint32_t class_count = 1;
  auto class_for = [&](char32_t cp) -> std::uint32_t {
    std::uint32_t& slot = cp < kBmpEnd ? filter->bmp_class_[cp] : far_classes[cp];
    if (slot == 0) slot = class_count++;
    return slot;
  };

  std::vector<BuildNode> nodes(1);
  for (const std::string& word : words) {
    const std::vector<char32_t> units = folded_units(word);
    if (units.empty()) continue;
    std::uint32_t state = kRoot;
    for (char32_t cp : units) {
      const std::uint32_t cls = class_for(cp);
      std::uint32_t next = nodes[state].child(cls);
      if (next == kRoot) {
        next = static_cast<std::uint32_t>(nodes.size());
        auto& children = nodes[state].children;
        children.insert(std::lower_bound(children.begin(), children.end(), Edge{cls, 0u}),
                        {cls, next});
        const std::uint32_t depth = nodes[state].depth + 1;
        nodes.emplace_back().depth = depth;
      }
      state = next;
    }
    if (!nodes[state].terminal) ++filter->word_count_;
    nodes[state].terminal = true;
    filter->max_word_units_ =
        std::max(filter->max_word_units_, static_cast<std::uint32_t>(units.size()));
  }
  filter->far_class_.assign(far_classes.begin(), far_classes.end());
  std::sort(filter->far_class_.begin(), filter->far_class_.end());
  // Folding baked into the table: the variants (upper case, full width, the ideographic
  // space) take the class of what they fold to, so a scan looks a BMP character up unfolded.
  // Astral characters and bad bytes fold to themselves.
  for (char32_t cp = 0; cp < kBmpEnd; ++cp) {
    if (fold_unit(cp) != cp) filter->bmp_class_[cp] = filter->bmp_class_[fold_unit(cp)];
  }
  for (char32_t b = 0; b < 128; ++b) filter->ascii_class_[b] = filter->bmp_class_[b];

  // Failure links breadth first, so a state's link (always shallower) is final before its use.
  const std::size_t count = nodes.size();
  std::vector<std::uint32_t> fail(count, kRoot);
  std::vector<std::uint32_t> longest(count, 0);
  std::vector<std::uint32_t> order;  // breadth first, the root left out
  order.reserve(count);
  std::deque<std::uint32_t> queue;
  for (const auto& [cls, child] : nodes[kRoot].children) queue.push_back(child);
  while (!queue.empty()) {
    const std::uint32_t state = queue.front();
    queue.pop_front();
    order.push_back(state);
    const std::uint32_t link = fail[state];
    longest[state] = nodes[state].terminal ? nodes[state].depth : longest[link];
    for (const auto& [cls, child] : nodes[state].children) {
      std::uint32_t f = link;
      std::uint32_t target = nodes[f].child(cls);
      while (target == kRoot && f != kRoot) {
        f = fail[f];
        target = nodes[f].child(cls);
      }
      fail[child] = target;
      queue.push_back(child);
    }
  }

  // Slots: the root's children first, side by side (the scan visits them most), then each
  // state's children, breadth first, at the first base where they all find a free slot.
  SlotPlanner planner;
  planner.take(kRoot);
  std::vector<std::uint32_t> slot(count, kRoot);
  std::vector<std::uint32_t> base(count, 0);
  filter->root_next_.assign(class_count, kRoot);
  for (const auto& [cls, child] : nodes[kRoot].children) {
    slot[child] = static_cast<std::uint32_t>(planner.end() - 1);
    planner.take(slot[child]);
    filter->root_next_[cls] = slot[child];
  }
  std::size_t max_base = 0;
  for (const std::uint32_t state : order) {
    const auto& children = nodes[state].children;
    if (children.empty()) continue;
    const std::size_t at = planner.first_fit(children);
    for (const auto& [cls, child] : children) {
      slot[child] = static_cast<std::uint32_t>(at + cls);
      planner.take(slot[child]);
    }
    base[state] = static_cast<std::uint32_t>(at);
    max_base = std::max(max_base, at);
  }
  // Every probe, base + any class, stays inside the array.
  filter->units_.assign(std::max(planner.end(), max_base + class_count), Unit{0, kFree, 0, 0});
  filter->units_[kRoot] = Unit{0, kRoot, kRoot, 0};
  std::vector<std::uint32_t> useful_fail(count, kRoot);  // the link, past states without children
  for (const std::uint32_t state : order) {
    const std::uint32_t link = fail[state];
    useful_fail[state] = link == kRoot || !nodes[link].children.empty() ? link : useful_fail[link];
  }
  for (const std::uint32_t state : order) {
    for (const auto& [cls, child] : nodes[state].children)
      filter->units_[slot[child]].check = slot[state];
    Unit& unit = filter->units_[slot[state]];
    unit.base = base[state];
    unit.fail = slot[useful_fail[state]];
    unit.longest = longest[state];
  }
  // The root's children are reached through root_next_; their check names the root, which is
  // never probed.
  for (const auto& [cls, child] : nodes[kRoot].children) filter->units_[slot[child]].check = kRoot;
  return filter;
}

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
  while (state != kRoot) {
    const Unit& unit = units_[state];
    const std::uint32_t child = unit.base + cls;
    if (units_[child].check == state) return child;
    state = unit.fail;
  }
  return root_next_[cls];
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
