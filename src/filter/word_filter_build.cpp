// WordFilter::build: the words folded, their characters numbered by frequency, a trie with
// failure links and outputs, then the trie laid out as the double array the scan walks (see
// word_filter.hpp).
#include <algorithm>
#include <deque>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "filter/text_units.hpp"
#include "filter/word_filter.hpp"

namespace chatglmd::filter {
namespace {

constexpr char32_t kBmpEnd = 0x10000;
using Edge = std::pair<std::uint32_t, std::uint32_t>;  // (class, target)

std::vector<char32_t> folded_units(std::string_view word) {
  std::vector<char32_t> units;
  for (std::size_t pos = 0; pos < word.size();) {
    const TextUnit unit = decode_unit(word, pos);
    units.push_back(fold_unit(unit.value));
    pos += unit.length;
  }
  return units;
}

// The trie while it is being built. The root has a child for nearly every class, so its
// children are a dense table; every other node keeps a short sorted list.
struct Trie {
  struct Node {
    std::vector<Edge> children;  // sorted by class
    std::uint32_t depth = 0;
    bool terminal = false;
  };
  std::vector<Node> nodes;
  std::vector<std::uint32_t> root_child;  // by class; 0 (the root) for none

  explicit Trie(std::uint32_t class_count) : nodes(1), root_child(class_count, 0) {}

  std::uint32_t child(std::uint32_t node, std::uint32_t cls) const {
    if (node == 0) return root_child[cls];
    const auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), Edge{cls, 0u});
    return it != children.end() && it->first == cls ? it->second : 0;
  }

  // Whether the word was new.
  bool insert(const std::vector<std::uint32_t>& classes) {
    std::uint32_t node = 0;
    for (const std::uint32_t cls : classes) {
      std::uint32_t next = child(node, cls);
      if (next == 0) {
        next = static_cast<std::uint32_t>(nodes.size());
        if (node == 0) {
          root_child[cls] = next;
        } else {
          auto& children = nodes[node].children;
          children.insert(std::lower_bound(children.begin(), children.end(), Edge{cls, 0u}),
                          {cls, next});
        }
        const std::uint32_t depth = nodes[node].depth + 1;
        nodes.emplace_back().depth = depth;
      }
      node = next;
    }
    const bool added = !nodes[node].terminal;
    nodes[node].terminal = true;
    return added;
  }

  // The root's children as a list too, once every word is in.
  void finish() {
    for (std::uint32_t cls = 0; cls < root_child.size(); ++cls)
      if (root_child[cls] != 0) nodes[0].children.emplace_back(cls, root_child[cls]);
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
  std::size_t free_from(std::size_t slot) {
    while (slot < next_.size() && next_[slot] != slot) {
      if (next_[slot] < next_.size()) next_[slot] = next_[next_[slot]];
      slot = next_[slot];
    }
    return slot;
  }

  // The smallest base, among the first max_tries places tried, at which every class in
  // `children` (sorted, not empty) meets a free slot, all below `limit`. None when the
  // children are too many and too spread out to fall into the holes left so far: trying on
  // would make the build quadratic, and appending them would leave a sparse array.
  std::optional<std::size_t> first_fit(const std::vector<Edge>& children, std::size_t limit,
                                       std::size_t max_tries) {
    const std::size_t first = children.front().first;
    const std::size_t last = children.back().first;
    std::size_t slot = free_from(std::max(start_, first));
    for (std::size_t tries = 0; tries < max_tries; ++tries, slot = free_from(slot + 1)) {
      const std::size_t base = slot - first;
      if (base + last >= limit) return std::nullopt;
      const bool fits = std::none_of(children.begin() + 1, children.end(),
                                     [&](const Edge& e) { return taken(base + e.first); });
      if (fits) return base;
      // Holes that many families did not fit are left to later families' other children; a
      // first child is sought after them.
      if (tries == kSkipAfter) start_ = slot;
    }
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kSkipAfter = 64;

  void grow(std::size_t size) {
    for (std::size_t slot = next_.size(); slot < size; ++slot) next_.push_back(slot);
  }

  std::size_t start_ = 1;          // slot 0 is the root
  std::vector<std::size_t> next_;  // next_[s] == s: free; else a slot at or before the next free
};

}  // namespace

Layout WordFilter::layout() const {
  Layout layout;
  layout.states = state_count_;
  layout.slots = units_.size();
  layout.hashed_states = slices_.size();
  layout.bytes = sizeof(*this) + bmp_class_.size() * sizeof(bmp_class_[0]) +
                 far_class_.size() * sizeof(far_class_[0]) +
                 root_next_.size() * sizeof(root_next_[0]) + units_.size() * sizeof(Unit) +
                 slices_.size() * sizeof(Slice) + slice_edges_.size() * sizeof(slice_edges_[0]);
  return layout;
}

std::shared_ptr<const WordFilter> WordFilter::build(const std::vector<std::string>& words,
                                                    const LayoutOptions& options) {
  std::shared_ptr<WordFilter> filter(new WordFilter());

  // Classes by frequency in the words, the most frequent first: the children of a state then
  // mostly have small classes, so they fit into the double array close together.
  std::vector<std::vector<char32_t>> folded;
  folded.reserve(words.size());
  std::unordered_map<char32_t, std::size_t> frequency;
  for (const std::string& word : words) {
    std::vector<char32_t> units = folded_units(word);
    if (units.empty()) continue;
    for (const char32_t cp : units) ++frequency[cp];
    folded.push_back(std::move(units));
  }
  std::vector<std::pair<char32_t, std::size_t>> by_frequency(frequency.begin(), frequency.end());
  std::sort(by_frequency.begin(), by_frequency.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  const auto class_count = static_cast<std::uint32_t>(by_frequency.size() + 1);
  filter->bmp_class_.assign(kBmpEnd, 0);
  std::unordered_map<char32_t, std::uint32_t> far_classes;
  for (std::uint32_t cls = 1; cls < class_count; ++cls) {
    const char32_t cp = by_frequency[cls - 1].first;
    (cp < kBmpEnd ? filter->bmp_class_[cp] : far_classes[cp]) = cls;
  }

  Trie trie(class_count);
  std::vector<std::uint32_t> classes;
  for (const auto& units : folded) {
    classes.clear();
    for (const char32_t cp : units)
      classes.push_back(cp < kBmpEnd ? filter->bmp_class_[cp] : far_classes[cp]);
    if (trie.insert(classes)) ++filter->word_count_;
    filter->max_word_units_ =
        std::max(filter->max_word_units_, static_cast<std::uint32_t>(units.size()));
  }
  trie.finish();
  const auto& nodes = trie.nodes;
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
  filter->state_count_ = count;
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
      std::uint32_t target = trie.child(f, cls);
      while (target == kRoot && f != kRoot) {
        f = fail[f];
        target = trie.child(f, cls);
      }
      fail[child] = target;
      queue.push_back(child);
    }
  }

  // Slots: the root's children first, side by side (the scan visits them most), then the
  // children of every other state, the widest families first while the array is still empty,
  // each at the first base where they all find a free slot.
  SlotPlanner planner;
  planner.take(kRoot);
  std::vector<std::uint32_t> slot(count, kRoot);
  std::vector<std::uint32_t> base(count, 0);
  filter->root_next_.assign(class_count, kRoot);
  for (const auto& [cls, child] : nodes[kRoot].children) {
    slot[child] = static_cast<std::uint32_t>(planner.free_from(1));
    planner.take(slot[child]);
    filter->root_next_[cls] = slot[child];
  }
  std::vector<std::uint32_t> parents;
  for (const std::uint32_t state : order)
    if (!nodes[state].children.empty()) parents.push_back(state);
  std::stable_sort(parents.begin(), parents.end(), [&](std::uint32_t a, std::uint32_t b) {
    return nodes[a].children.size() > nodes[b].children.size();
  });
  std::vector<std::uint32_t> hashed;
  std::size_t max_base = 0;
  for (const std::uint32_t state : parents) {
    const auto& children = nodes[state].children;
    // Half the numbers leave room for the hashed states' block.
    const auto at = planner.first_fit(children, kHashed / 2, options.placement_tries);
    if (!at) {
      hashed.push_back(state);
      continue;
    }
    for (const auto& [cls, child] : children) {
      slot[child] = static_cast<std::uint32_t>(*at + cls);
      planner.take(slot[child]);
    }
    base[state] = static_cast<std::uint32_t>(*at);
    max_base = std::max(max_base, *at);
  }
  for (const std::uint32_t state : hashed) {
    for (const auto& [cls, child] : nodes[state].children) {
      slot[child] = static_cast<std::uint32_t>(planner.free_from(1));
      planner.take(slot[child]);
    }
    Slice slice{static_cast<std::uint32_t>(filter->slice_edges_.size()), 16, kRoot};
    while (slice.size < 2 * nodes[state].children.size()) slice.size *= 2;
    filter->slice_edges_.resize(filter->slice_edges_.size() + slice.size, Edge{0, kRoot});
    Edge* entries = filter->slice_edges_.data() + slice.begin;
    for (const auto& [cls, child] : nodes[state].children) {
      std::uint32_t i = hashed_slot(cls, slice.size);
      while (entries[i].first != 0) i = (i + 1) & (slice.size - 1);
      entries[i] = {cls, slot[child]};
    }
    base[state] = kHashed + static_cast<std::uint32_t>(filter->slices_.size());  // for now
    filter->slices_.push_back(slice);
  }

  // Every probe, base + any class, stays inside the array; hashed states probe the free block
  // at its end.
  const std::size_t size = std::max(planner.end(), max_base + class_count);
  filter->hashed_base_ = static_cast<std::uint32_t>(size);
  const std::size_t free_block = hashed.empty() ? 0 : filter->slices_.size() + class_count;
  // A slot at or past kHashed would read as a hashed state's marker (about 10^9 states, tens of
  // GB: no real dictionary comes near it).
  if (size + free_block >= kHashed) throw std::length_error("word filter: too many states");
  filter->units_.assign(size + free_block, Unit{0, kFree, 0, 0});
  filter->units_[kRoot] = Unit{0, kRoot, kRoot, 0};
  std::vector<std::uint32_t> useful_fail(count, kRoot);  // the link, past states without children
  for (const std::uint32_t state : order) {
    const std::uint32_t link = fail[state];
    useful_fail[state] = link == kRoot || !nodes[link].children.empty() ? link : useful_fail[link];
    Unit& unit = filter->units_[slot[state]];
    unit.longest = longest[state];
    if (base[state] < kHashed) {
      unit.base = base[state];
      unit.fail = slot[useful_fail[state]];
    } else {
      const std::uint32_t slice = base[state] - kHashed;
      unit.base = filter->hashed_base_ + slice;
      unit.fail = kHashed + slot[state];
      filter->slices_[slice].fail = slot[useful_fail[state]];
    }
    for (const auto& [cls, child] : nodes[state].children)
      filter->units_[slot[child]].check = slot[state];
  }
  // The root's children are reached through root_next_; their check names the root, which is
  // never probed.
  for (const auto& [cls, child] : nodes[kRoot].children) filter->units_[slot[child]].check = kRoot;
  return filter;
}

}  // namespace chatglmd::filter
