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
// Up to this many edges a state's slice is probed linearly; beyond, it is hashed.
constexpr std::size_t kLinearEdges = 8;

// Classes are numbered densely, so distinct classes mostly differ in their low bits already;
// the odd multiplier spreads runs of neighbouring classes over the table.
inline std::uint32_t slot_of(std::uint32_t cls, std::uint32_t slots) {
  return (cls * 0x9E3779B9u) & (slots - 1);
}

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
  // States are renumbered in the same order, so the shallow states that a scan visits most
  // sit together in memory.
  std::vector<std::uint32_t> order{kRoot};
  std::vector<std::uint32_t> renumbered(count, kRoot);
  order.reserve(count);
  std::deque<std::uint32_t> queue;
  for (const auto& [cls, child] : nodes[kRoot].children) queue.push_back(child);
  while (!queue.empty()) {
    const std::uint32_t state = queue.front();
    queue.pop_front();
    renumbered[state] = static_cast<std::uint32_t>(order.size());
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

  filter->root_next_.assign(class_count, kRoot);
  for (const auto& [cls, child] : nodes[kRoot].children)
    filter->root_next_[cls] = renumbered[child];
  filter->states_.resize(count);
  for (std::size_t id = 0; id < count; ++id) {
    const std::uint32_t old = order[id];
    State& state = filter->states_[id];
    std::vector<Edge> edges = nodes[old].children;
    for (Edge& edge : edges) edge.second = renumbered[edge.second];
    state.longest = longest[old];
    state.fail = renumbered[fail[old]];
    state.begin = static_cast<std::uint32_t>(filter->edges_.size());
    if (id == kRoot) continue;  // the root's transitions are root_next_
    if (edges.size() <= kLinearEdges) {
      state.size = static_cast<std::uint32_t>(edges.size());
      filter->edges_.insert(filter->edges_.end(), edges.begin(), edges.end());
      continue;
    }
    state.size = 16;
    while (state.size < 2 * edges.size()) state.size *= 2;
    filter->edges_.resize(filter->edges_.size() + state.size, Edge{0, kRoot});
    Edge* slots = filter->edges_.data() + state.begin;
    for (const Edge& edge : edges) {
      std::uint32_t slot = slot_of(edge.first, state.size);
      while (slots[slot].first != 0) slot = (slot + 1) & (state.size - 1);
      slots[slot] = edge;
    }
  }
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

inline std::uint32_t WordFilter::next_state(std::uint32_t id, std::uint32_t cls) const {
  while (id != kRoot) {
    const State& state = states_[id];
    const Edge* slots = edges_.data() + state.begin;
    if (state.size <= kLinearEdges) {
      for (std::uint32_t i = 0; i < state.size; ++i) {
        if (slots[i].first == cls) return slots[i].second;
      }
    } else {
      for (std::uint32_t slot = slot_of(cls, state.size);; slot = (slot + 1) & (state.size - 1)) {
        if (slots[slot].first == cls) return slots[slot].second;
        if (slots[slot].first == 0) break;
      }
    }
    id = state.fail;
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
    if (states_[state].longest != 0 && !on_match(index, states_[state].longest, pos)) return;
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
    const std::uint32_t length = states_[state].longest;
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
