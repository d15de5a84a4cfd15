#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "filter/filter_holder.hpp"
#include "filter/text_units.hpp"
#include "filter/word_file.hpp"
#include "filter/word_filter.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::filter {
namespace {

std::string mask_with(const std::vector<std::string>& words, std::string_view text) {
  return WordFilter::build(words)->mask(text);
}

TEST(TextUnits, DecodesValidUtf8AndKeepsBadBytesApart) {
  const std::string text = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";  // a é 中 😀
  std::vector<char32_t> units;
  for (std::size_t pos = 0; pos < text.size();) {
    const TextUnit unit = decode_unit(text, pos);
    units.push_back(unit.value);
    pos += unit.length;
  }
  EXPECT_EQ(units, (std::vector<char32_t>{U'a', 0xE9, 0x4E2D, 0x1F600}));

  // Overlong '/', a lone surrogate, a lone continuation byte, a truncated 3-byte sequence.
  for (std::string bad : {"\xC0\xAF", "\xED\xA0\x80", "\x80", "\xE4\xB8"}) {
    const TextUnit unit = decode_unit(bad, 0);
    EXPECT_EQ(unit.length, 1u) << bad.size();
    EXPECT_EQ(unit.value, kInvalidByteBase + static_cast<unsigned char>(bad[0]));
  }
}

TEST(TextUnits, FoldsCaseFullWidthAndIdeographicSpace) {
  EXPECT_EQ(fold_unit(U'A'), U'a');
  EXPECT_EQ(fold_unit(0xFF21), U'a');  // Ａ
  EXPECT_EQ(fold_unit(0xFF41), U'a');  // ａ
  EXPECT_EQ(fold_unit(0xFF10), U'0');  // ０
  EXPECT_EQ(fold_unit(0x3000), U' ');
  EXPECT_EQ(fold_unit(0x4E2D), 0x4E2Du);
}

TEST(WordFilter, MasksWordsInsideMixedChineseAndAscii) {
  const auto filter = WordFilter::build({"赌博", "bad"});
  EXPECT_EQ(filter->mask("我们不要赌博, it is bad!"), "我们不要**, it is ***!");
  EXPECT_TRUE(filter->contains_any("去赌博吗"));
  EXPECT_FALSE(filter->contains_any("赌一把 博客 ba d"));
  EXPECT_EQ(filter->mask("赌一把 博客"), "赌一把 博客");
  EXPECT_EQ(filter->size(), 2u);
}

TEST(WordFilter, MasksOverlappingWordsTogether) {
  EXPECT_EQ(mask_with({"abc", "bcd"}, "abcd"), "****");
  EXPECT_EQ(mask_with({"abc", "bcd"}, "xabcdx"), "x****x");
  EXPECT_EQ(mask_with({"ab", "cd"}, "abcd"), "****");
  EXPECT_EQ(mask_with({"aa"}, "aaa"), "***");
}

TEST(WordFilter, MasksNestedWords) {
  // A short word inside a long one, and a long one whose prefix is a word.
  EXPECT_EQ(mask_with({"b", "abc"}, "ab abc"), "a* ***");
  EXPECT_EQ(mask_with({"ab", "abcd"}, "abc abcd"), "**c ****");
  EXPECT_EQ(mask_with({"法轮", "轮"}, "车轮 法轮功"), "车* **功");
}

TEST(WordFilter, MatchesFullWidthAndUpperCaseVariantsButMasksTheOriginal) {
  const auto filter = WordFilter::build({"VPN", "ｆｏｏ"});
  EXPECT_EQ(filter->mask("vpn VPN Vpn ＶＰＮ ｖｐｎ"), "*** *** *** *** ***");
  EXPECT_EQ(filter->mask("foo FOO ＦＯＯ"), "*** *** ***");
  EXPECT_EQ(filter->size(), 2u);
  // "ＶＰＮ" and "vpn" are one word once folded.
  EXPECT_EQ(WordFilter::build({"ＶＰＮ", "vpn", "VPN"})->size(), 1u);
}

TEST(WordFilter, IdeographicSpaceMatchesASpace) {
  EXPECT_EQ(mask_with({"a b"},
                      "a\xE3\x80\x80"
                      "b"),
            "***");
}

TEST(WordFilter, EmojiAndInvalidUtf8Survive) {
  const auto filter = WordFilter::build({"坏", "😀x"});
  EXPECT_EQ(filter->mask("😀😀坏😀"), "😀😀*😀");
  EXPECT_EQ(filter->mask("a😀xb"), "a**b");
  const std::string broken =
      "\xFF坏\xE4\xB8"
      "a\x80";
  EXPECT_EQ(filter->mask(broken),
            "\xFF*\xE4\xB8"
            "a\x80");
  // A word holding a bad byte matches that byte, masked as one '*'.
  EXPECT_EQ(mask_with({"a\xFF"}, "xa\xFFy"), "x**y");
  // Bad bytes never match the characters whose code points share their value.
  EXPECT_EQ(mask_with({"\xC3\xBF"}, "\xFF"), "\xFF");
}

TEST(WordFilter, EmptyDictionaryAndEmptyWords) {
  const auto empty = WordFilter::build({});
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_EQ(empty->mask("任何文本 any text"), "任何文本 any text");
  EXPECT_FALSE(empty->contains_any("任何文本"));
  EXPECT_EQ(empty->mask(""), "");
  const auto blanks = WordFilter::build({"", ""});
  EXPECT_EQ(blanks->size(), 0u);
  EXPECT_EQ(blanks->mask("abc"), "abc");
}

// The same answer computed the slow, obvious way: fold both sides, mark every occurrence.
std::string naive_mask(const std::vector<std::string>& words, std::string_view text) {
  auto units = [](std::string_view s) {
    std::vector<std::pair<char32_t, std::string_view>> out;
    for (std::size_t pos = 0; pos < s.size();) {
      const TextUnit unit = decode_unit(s, pos);
      out.emplace_back(fold_unit(unit.value), s.substr(pos, unit.length));
      pos += unit.length;
    }
    return out;
  };
  const auto text_units = units(text);
  std::vector<bool> masked(text_units.size(), false);
  for (const std::string& word : words) {
    const auto word_units = units(word);
    if (word_units.empty() || word_units.size() > text_units.size()) continue;
    for (std::size_t i = 0; i + word_units.size() <= text_units.size(); ++i) {
      bool same = true;
      for (std::size_t j = 0; same && j < word_units.size(); ++j) {
        same = text_units[i + j].first == word_units[j].first;
      }
      if (same) std::fill(masked.begin() + i, masked.begin() + i + word_units.size(), true);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < text_units.size(); ++i) {
    out += masked[i] ? std::string_view("*") : text_units[i].second;
  }
  return out;
}

TEST(WordFilter, AgreesWithNaiveMaskingOnRandomInput) {
  // A small alphabet makes overlaps, nesting and failure-link chains frequent.
  const std::vector<std::string> alphabet = {"a", "b", "A", "ａ", "中", "文", "\xFF", "😀"};
  std::mt19937 rng(20240601);
  auto random_text = [&](std::size_t max_len) {
    std::string s;
    const std::size_t len = rng() % (max_len + 1);
    for (std::size_t i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> words;
    const int count = static_cast<int>(rng() % 8);
    for (int i = 0; i < count; ++i) words.push_back(random_text(4));
    // Every layout: the double array, every state hashed, and a mix of both.
    const auto filters = {WordFilter::build(words), WordFilter::build(words, {0}),
                          WordFilter::build(words, {1})};
    for (int t = 0; t < 20; ++t) {
      const std::string text = random_text(24);
      const std::string expected = naive_mask(words, text);
      for (const auto& filter : filters) {
        ASSERT_EQ(filter->mask(text), expected) << "round " << round;
        ASSERT_EQ(filter->contains_any(text), expected != text);
      }
    }
  }
}

bool valid_utf8(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) {
    const TextUnit unit = decode_unit(s, pos);
    if (unit.value >= kInvalidByteBase) return false;
    pos += unit.length;
  }
  return true;
}

// Any bytes at all, in the words and in the text: nothing breaks, the text keeps its units (each
// one itself or a '*'), valid UTF-8 stays valid, and the answer is still the naive one.
TEST(WordFilter, RandomBytesKeepEveryUnitAndAgreeWithNaiveMasking) {
  std::mt19937 rng(424242);
  // Bytes biased towards UTF-8 lead and continuation bytes, so that truncated, overlong and
  // surrogate sequences turn up next to valid ones.
  auto random_bytes = [&](std::size_t max_len) {
    std::string s(rng() % (max_len + 1), '\0');
    for (char& c : s) {
      const unsigned r = rng() % 4;
      c = static_cast<char>(r == 0   ? 0x80 + rng() % 0x40
                            : r == 1 ? 0xC0 + rng() % 0x40
                            : r == 2 ? 'a' + rng() % 3
                                     : rng() % 256);
    }
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> words;
    for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) words.push_back(random_bytes(5));
    const auto filter = WordFilter::build(words);
    for (int t = 0; t < 20; ++t) {
      const std::string text = random_bytes(40);
      const std::string masked = filter->mask(text);
      ASSERT_EQ(masked, naive_mask(words, text)) << "round " << round;
      std::size_t a = 0, b = 0;
      while (a < text.size() && b < masked.size()) {
        const TextUnit from = decode_unit(text, a);
        const TextUnit to = decode_unit(masked, b);
        ASSERT_TRUE(to.value == from.value || to.value == U'*') << "round " << round;
        a += from.length;
        b += to.length;
      }
      ASSERT_TRUE(a == text.size() && b == masked.size()) << "round " << round;
      if (valid_utf8(text)) {
        ASSERT_TRUE(valid_utf8(masked)) << "round " << round;
      }
    }
  }
}

// The naive answer's counts: positions where some word ends, and units masked.
ScanCounts naive_counts(const std::vector<std::string>& words, std::string_view text) {
  std::vector<char32_t> units;
  for (std::size_t pos = 0; pos < text.size();) {
    const TextUnit unit = decode_unit(text, pos);
    units.push_back(fold_unit(unit.value));
    pos += unit.length;
  }
  std::vector<bool> ends(units.size(), false), masked(units.size(), false);
  for (const std::string& word : words) {
    std::vector<char32_t> w;
    for (std::size_t pos = 0; pos < word.size();) {
      const TextUnit unit = decode_unit(word, pos);
      w.push_back(fold_unit(unit.value));
      pos += unit.length;
    }
    if (w.empty() || w.size() > units.size()) continue;
    for (std::size_t i = 0; i + w.size() <= units.size(); ++i) {
      if (std::equal(w.begin(), w.end(), units.begin() + static_cast<std::ptrdiff_t>(i))) {
        ends[i + w.size() - 1] = true;
        std::fill(masked.begin() + static_cast<std::ptrdiff_t>(i),
                  masked.begin() + static_cast<std::ptrdiff_t>(i + w.size()), true);
      }
    }
  }
  return {static_cast<std::size_t>(std::count(ends.begin(), ends.end(), true)),
          static_cast<std::size_t>(std::count(masked.begin(), masked.end(), true))};
}

// Dictionaries with wide states, long failure chains, words longer than the scan's 64-unit
// memory, bad bytes and folded variants, laid out as a double array, as hashed slices only and
// mixed; masking, counting, mask_into's appending and the whitelist's bypass all agree with the
// naive answer.
TEST(WordFilter, LargeDictionariesAgreeWithNaiveMaskingCountingAndWhitelist) {
  std::vector<std::string> alphabet = {"a", "B", "ｃ", "Ｄ", "\xFF", "\xE4\xB8", "😀", "　", " "};
  for (char32_t cp = 0x4E00; cp < 0x4E00 + 24; ++cp) {
    std::string s;
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
    alphabet.push_back(s);
  }
  std::mt19937 rng(77);
  auto random_text = [&](std::size_t min_len, std::size_t max_len) {
    std::string s;
    const std::size_t len = min_len + rng() % (max_len - min_len + 1);
    // Mostly a few frequent units, so prefixes are shared and failure chains run long.
    for (std::size_t i = 0; i < len; ++i)
      s += alphabet[rng() % 3 == 0 ? rng() % alphabet.size() : rng() % 6];
    return s;
  };
  FilterHolder holder;
  holder.replace_whitelist({"vip"});
  for (int round = 0; round < 40; ++round) {
    std::vector<std::string> words;
    const int count = 50 + static_cast<int>(rng() % 400);
    for (int i = 0; i < count; ++i) words.push_back(random_text(1, 4));
    if (round % 4 == 0) words.push_back(random_text(65, 90));  // longer than 64 units
    const LayoutOptions layouts[] = {{}, {0}, {1}};
    const auto filter = WordFilter::build(words, layouts[round % 3]);
    for (int t = 0; t < 25; ++t) {
      std::string text = random_text(0, 200);
      if (round % 4 == 0 && t % 5 == 0) text += words.back() + random_text(0, 5);
      const std::string expected = naive_mask(words, text);
      ASSERT_EQ(filter->mask(text), expected) << "round " << round;
      std::string appended = "prefix|";
      const ScanCounts counts = filter->mask_into(text, appended);
      ASSERT_EQ(appended, "prefix|" + expected) << "round " << round;
      const ScanCounts naive = naive_counts(words, text);
      EXPECT_EQ(counts.hits, naive.hits) << "round " << round;
      EXPECT_EQ(counts.masked, naive.masked) << "round " << round;
      const ScanCounts counted = filter->count(text);
      EXPECT_EQ(counted.hits, naive.hits) << "round " << round;
      EXPECT_EQ(counted.masked, naive.masked) << "round " << round;
      ASSERT_EQ(filter->contains_any(text), expected != text);
      // The chat's rule: a whitelisted user's text passes as it is, everyone else's is masked.
      for (const std::string user : {"vip", "someone"}) {
        const std::string seen = holder.is_whitelisted(user) ? text : filter->mask(text);
        ASSERT_EQ(seen, user == "vip" ? text : expected);
      }
    }
  }
}

// The answer by a set of folded words: every span up to the longest word's length looked up.
// Independent of the automaton, and fast enough for thousands of words.
std::string set_mask(const std::vector<std::string>& words, std::string_view text) {
  auto folded = [](std::string_view s) {
    std::u32string out;
    for (std::size_t pos = 0; pos < s.size();) {
      const TextUnit unit = decode_unit(s, pos);
      out.push_back(fold_unit(unit.value));
      pos += unit.length;
    }
    return out;
  };
  std::set<std::u32string> dictionary;
  std::size_t longest = 0;
  for (const std::string& word : words) {
    dictionary.insert(folded(word));
    longest = std::max(longest, folded(word).size());
  }
  std::vector<std::string_view> pieces;  // the text's units as bytes
  for (std::size_t pos = 0; pos < text.size();) {
    const TextUnit unit = decode_unit(text, pos);
    pieces.push_back(text.substr(pos, unit.length));
    pos += unit.length;
  }
  const std::u32string units = folded(text);
  std::vector<bool> masked(units.size(), false);
  for (std::size_t i = 0; i < units.size(); ++i) {
    for (std::size_t n = 1; n <= longest && i + n <= units.size(); ++n) {
      if (dictionary.count(units.substr(i, n)) == 0) continue;
      std::fill(masked.begin() + static_cast<std::ptrdiff_t>(i),
                masked.begin() + static_cast<std::ptrdiff_t>(i + n), true);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < units.size(); ++i) out += masked[i] ? "*" : pieces[i];
  return out;
}

// Families too wide and too spread out for the double array's bounded placement (20 first
// characters, each followed by 150 of 20,000): the build hashes them by itself, stays compact,
// and masks as the set of words says, through chains that pass hashed and placed states.
TEST(WordFilter, WideFamiliesOverALargeAlphabetAreHashedAndStillAgree) {
  auto han = [](char32_t offset) {
    const char32_t cp = 0x4E00 + offset;
    return std::string{static_cast<char>(0xE0 | (cp >> 12)),
                       static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                       static_cast<char>(0x80 | (cp & 0x3F))};
  };
  std::mt19937 rng(3000);
  std::vector<std::string> words;
  for (int i = 0; i < 3000; ++i) words.push_back(han(rng() % 20) + han(rng() % 20000));
  // Suffixes of longer words that are words themselves make failure links into the families.
  for (int i = 0; i < 300; ++i) words.push_back(han(20000 + rng() % 5) + words[rng() % 3000]);
  const auto filter = WordFilter::build(words);
  const Layout layout = filter->layout();
  EXPECT_GT(layout.hashed_states, 0u);
  EXPECT_LT(layout.slots, 4 * layout.states);
  EXPECT_LT(layout.bytes, 2u << 20);
  for (int t = 0; t < 200; ++t) {
    std::string text;
    for (int piece = 0, n = 1 + static_cast<int>(rng() % 30); piece < n; ++piece) {
      const unsigned kind = rng() % 4;
      text += kind == 0   ? words[rng() % words.size()]
              : kind == 1 ? han(rng() % 20)
              : kind == 2 ? han(20000 + rng() % 5)
                          : han(rng() % 20000);
    }
    ASSERT_EQ(filter->mask(text), set_mask(words, text)) << "text " << t;
  }
}

TEST(WordFile, TrimsSkipsCommentsAndBlankLines) {
  const std::string content =
      "\xEF\xBB\xBF# list of words\r\n"
      "  赌博  \r\n"
      "\n"
      "   \t\n"
      "\xE3\x80\x80毒品\xE3\x80\x80\n"
      "  # indented comment\n"
      "two words\n"
      "last";
  EXPECT_EQ(parse_word_list(content),
            (std::vector<std::string>{"赌博", "毒品", "two words", "last"}));
  EXPECT_TRUE(parse_word_list("").empty());
}

TEST(WordFile, LoadsAFileAndReportsAMissingOne) {
  testing::TempDir dir;
  {
    std::ofstream out(dir.file("words.txt"), std::ios::binary);
    out << "# comment\nfoo\n\nbar\n";
  }
  const auto words = load_word_file(dir.file("words.txt"));
  ASSERT_TRUE(words.has_value());
  EXPECT_EQ(*words, (std::vector<std::string>{"foo", "bar"}));

  const auto missing = load_word_file(dir.file("nope.txt"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error(), boost::system::errc::no_such_file_or_directory);
  EXPECT_FALSE(load_word_file(dir.path()).has_value());
}

TEST(FilterHolder, StartsEmptyAndSwapsFilters) {
  FilterHolder holder;
  EXPECT_EQ(holder.current()->size(), 0u);
  const auto before = holder.current();
  holder.replace(WordFilter::build({"bad"}));
  EXPECT_EQ(holder.current()->mask("bad"), "***");
  // A reader that loaded the old filter keeps using it safely.
  EXPECT_EQ(before->mask("bad"), "bad");
  holder.replace(nullptr);
  ASSERT_NE(holder.current(), nullptr);
  EXPECT_EQ(holder.current()->mask("bad"), "bad");
}

TEST(FilterHolder, Whitelist) {
  FilterHolder holder;
  EXPECT_FALSE(holder.is_whitelisted("o-1"));
  holder.replace_whitelist({"o-1", "o-2"});
  EXPECT_TRUE(holder.is_whitelisted("o-1"));
  EXPECT_TRUE(holder.is_whitelisted(std::string_view("o-2")));
  EXPECT_FALSE(holder.is_whitelisted("o-3"));
  EXPECT_FALSE(holder.is_whitelisted(""));
  holder.replace_whitelist({});
  EXPECT_FALSE(holder.is_whitelisted("o-1"));
}

TEST(FilterHolder, ReloadSwapUnderConcurrentReaders) {
  // Readers must always see one whole dictionary: the old one or the new one, never a mix.
  const std::string text = "alpha beta";
  const auto first = WordFilter::build({"alpha"});
  const auto second = WordFilter::build({"beta", "gamma"});
  const std::set<std::string> allowed = {"***** beta", "alpha ****"};
  FilterHolder holder;
  holder.replace(first);

  constexpr int kReaders = 4;
  constexpr int kSwaps = 2000;
  std::atomic<bool> done{false};
  std::atomic<int> bad_results{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const auto filter = holder.current();
        if (!allowed.contains(filter->mask(text))) ++bad_results;
        if (holder.is_whitelisted("nobody")) ++bad_results;
        ++reads;
      }
    });
  }
  for (int i = 0; i < kSwaps; ++i) {
    holder.replace(i % 2 == 0 ? second : WordFilter::build({"alpha"}));
    holder.replace_whitelist({"user-" + std::to_string(i)});
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad_results.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(holder.current()->mask(text), "***** beta");
}

}  // namespace
}  // namespace chatglmd::filter
