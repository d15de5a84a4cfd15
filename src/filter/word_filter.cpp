#include "filter/word_filter.hpp"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "filter/text_units.hpp"

namespace chatglmd::filter {
namespace {

constexpr std::uint32_t kRoot = 0;
constexpr char32_t kBmpEnd = 0x10000;

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
  std::vector<std::pair<std::uint32_t, std::uint32_t>> children;  // sorted by class
  std::uint32_t depth = 0;
  bool terminal = false;

  std::uint32_t child(std::uint32_t cls) const {
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(cls, 0u));
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
        children.insert(std::lower_bound(children.begin(), children.end(), std::make_pair(cls, 0u)),
                        {cls, next});
        const std::uint32_t depth = nodes[state].depth + 1;
        nodes.emplace_back().depth = depth;
      }
      state = next;
    }
    if (!nodes[state].terminal) ++filter->word_count_;
    nodes[state].terminal = true;
  }
  filter->far_class_.assign(far_classes.begin(), far_classes.end());
  std::sort(filter->far_class_.begin(), filter->far_class_.end());

  // Failure links breadth first, so a state's link (always shallower) is final before its use.
  const std::size_t count = nodes.size();
  filter->fail_.assign(count, kRoot);
  filter->longest_.assign(count, 0);
  std::deque<std::uint32_t> queue;
  for (const auto& [cls, child] : nodes[kRoot].children) queue.push_back(child);
  while (!queue.empty()) {
    const std::uint32_t state = queue.front();
    queue.pop_front();
    const std::uint32_t link = filter->fail_[state];
    filter->longest_[state] = nodes[state].terminal ? nodes[state].depth : filter->longest_[link];
    for (const auto& [cls, child] : nodes[state].children) {
      std::uint32_t f = link;
      std::uint32_t target = nodes[f].child(cls);
      while (target == kRoot && f != kRoot) {
        f = filter->fail_[f];
        target = nodes[f].child(cls);
      }
      filter->fail_[child] = target;
      queue.push_back(child);
    }
  }

  filter->root_next_.assign(class_count, kRoot);
  for (const auto& [cls, child] : nodes[kRoot].children) filter->root_next_[cls] = child;
  filter->edge_begin_.reserve(count + 1);
  filter->edges_.reserve(count);
  for (const BuildNode& node : nodes) {
    filter->edge_begin_.push_back(static_cast<std::uint32_t>(filter->edges_.size()));
    if (&node != &nodes[kRoot]) {
      filter->edges_.insert(filter->edges_.end(), node.children.begin(), node.children.end());
    }
  }
  filter->edge_begin_.push_back(static_cast<std::uint32_t>(filter->edges_.size()));
  return filter;
}

std::uint32_t WordFilter::class_of(char32_t folded) const {
  if (folded < kBmpEnd) return bmp_class_[folded];
  auto it = std::lower_bound(far_class_.begin(), far_class_.end(), std::make_pair(folded, 0u));
  return it != far_class_.end() && it->first == folded ? it->second : 0;
}

std::uint32_t WordFilter::next_state(std::uint32_t state, std::uint32_t cls) const {
  while (state != kRoot) {
    const auto* first = edges_.data() + edge_begin_[state];
    const auto* last = edges_.data() + edge_begin_[state + 1];
    // Slices are short: a linear probe beats binary search until a state fans out.
    if (last - first <= 8) {
      for (const auto* e = first; e != last; ++e) {
        if (e->first == cls) return e->second;
      }
    } else {
      const auto* e = std::lower_bound(first, last, std::make_pair(cls, 0u));
      if (e != last && e->first == cls) return e->second;
    }
    state = fail_[state];
  }
  return root_next_[cls];
}

template <class OnMatch>
void WordFilter::scan(std::string_view text, OnMatch&& on_match) const {
  std::uint32_t state = kRoot;
  std::size_t index = 0;
  for (std::size_t pos = 0; pos < text.size(); ++index) {
    const TextUnit unit = decode_unit(text, pos);
    pos += unit.length;
    const std::uint32_t cls = class_of(fold_unit(unit.value));
    // A character that is in no word cannot extend any match.
    state = cls == 0 ? kRoot : next_state(state, cls);
    if (longest_[state] != 0 && !on_match(index, longest_[state])) return;
  }
}

bool WordFilter::contains_any(std::string_view text) const {
  bool found = false;
  scan(text, [&](std::size_t, std::uint32_t) {
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
  ScanCounts counts;
  std::size_t covered_to = 0;  // units before this index are already counted as masked
  scan(text, [&](std::size_t end, std::uint32_t length) {
    ++counts.hits;
    const std::size_t first = std::max(end + 1 - length, covered_to);
    counts.masked += end + 1 - first;
    covered_to = end + 1;
    return true;
  });
  return counts;
}

ScanCounts WordFilter::mask_into(std::string_view text, std::string& out) const {
  ScanCounts counts;
  if (word_count_ == 0) {
    out.append(text);
    return counts;
  }
  // Covered unit ranges [first, last], merged as they arrive (they arrive by increasing end).
  std::vector<std::pair<std::size_t, std::size_t>> covered;
  scan(text, [&](std::size_t end, std::uint32_t length) {
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
