// The filter benchmark's input, the same bytes on every machine: a dictionary of 10,000 words
// (2-4 common Chinese characters, or ASCII) and a corpus of chat-sized messages (200-4,000 bytes,
// one a line) mixing Chinese runs, ASCII words and punctuation, with dictionary words planted.
// Deterministic: its own generator (splitmix64), no std distributions (their output differs
// between standard libraries).
//
//   bench_corpus WORDS_FILE CORPUS_FILE [MIB]     (default 64 MiB)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

namespace {

struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  // Skewed towards small values, as character frequencies are.
  std::size_t skewed(std::size_t n) {
    const double u = static_cast<double>(next() >> 11) / 9007199254740992.0;
    return static_cast<std::size_t>(static_cast<double>(n) * u * u);
  }
};

constexpr std::size_t kCommonChars = 3000;  // from U+4E00
constexpr std::size_t kWords = 10'000;
constexpr std::size_t kAsciiVocabulary = 2000;
const char* const kPunctuation[] = {"，", "。", "！", "？", "、", "：", ", ", ". ", "! ", "? "};

void append_utf8(std::string& out, char32_t cp) {
  out += static_cast<char>(0xE0 | (cp >> 12));
  out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out += static_cast<char>(0x80 | (cp & 0x3F));
}

std::string chinese(Random& r, std::size_t chars) {
  std::string s;
  for (std::size_t i = 0; i < chars; ++i)
    append_utf8(s, static_cast<char32_t>(0x4E00 + r.skewed(kCommonChars)));
  return s;
}

std::string ascii_word(Random& r) {
  std::string s;
  for (std::size_t i = 0, n = 2 + r.below(7); i < n; ++i)
    s += static_cast<char>('a' + r.skewed(26));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: bench_corpus WORDS_FILE CORPUS_FILE [MIB]\n");
    return 2;
  }
  const std::size_t total = (argc == 4 ? std::strtoul(argv[3], nullptr, 10) : 64) << 20;
  Random r{20240601};
  std::vector<std::string> vocabulary;
  for (std::size_t i = 0; i < kAsciiVocabulary; ++i) vocabulary.push_back(ascii_word(r));

  std::set<std::string> seen;
  std::vector<std::string> words;
  while (words.size() < kWords) {
    const std::size_t kind = r.below(10);
    std::string w = kind < 8   ? chinese(r, 2 + r.below(3))
                    : kind < 9 ? vocabulary[r.below(kAsciiVocabulary)]
                               : ascii_word(r) + ascii_word(r);
    if (w.size() >= 3 && seen.insert(w).second) words.push_back(w);
  }
  std::FILE* wf = std::fopen(argv[1], "wb");
  if (!wf) return std::perror(argv[1]), 1;
  for (const auto& w : words) std::fprintf(wf, "%s\n", w.c_str());
  std::fclose(wf);

  std::FILE* cf = std::fopen(argv[2], "wb");
  if (!cf) return std::perror(argv[2]), 1;
  std::size_t written = 0;
  std::string line;
  while (written < total) {
    const std::size_t target = 200 + r.below(3801);
    line.clear();
    while (line.size() < target) {
      const std::size_t kind = r.below(100);
      if (kind < 60) {
        line += chinese(r, 5 + r.below(26));
      } else if (kind < 85) {
        for (std::size_t i = 0, n = 1 + r.below(4); i < n; ++i) {
          std::string w = vocabulary[r.skewed(kAsciiVocabulary)];
          if (r.below(8) == 0) w[0] = static_cast<char>(w[0] - 'a' + 'A');
          line += w;
          line += ' ';
        }
      } else if (kind < 97) {
        line += kPunctuation[r.below(std::size(kPunctuation))];
      } else {
        line += words[r.below(kWords)];
      }
    }
    if (written + line.size() + 1 > total) line.resize(total - written - 1);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), cf);
    written += line.size();
  }
  std::fclose(cf);
  return 0;
}
