// Sensitive-word scan cost: the Aho-Corasick filter with 10 and with 10,000 words on the same
// text (the design asks for a scan independent of the dictionary size), against the obvious
// baseline of one std::string::find pass per word, all in one run; ratios printed at the end.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "filter/word_filter.hpp"

namespace {

using chatglmd::filter::WordFilter;

constexpr std::size_t kTextBytes = 16 * 1024;  // a long chat prompt
constexpr int kSmall = 10;
constexpr int kLarge = 10'000;

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Everyday Chinese uses a few thousand characters; draw words and text from the same pool so
// the large dictionary really does share characters with the text.
char32_t common_han(std::mt19937& rng) {
  return 0x4E00 + rng() % 3000;
}

const std::vector<std::string>& dictionary() {
  static const std::vector<std::string> words = [] {
    std::mt19937 rng(7);
    std::vector<std::string> out;
    const char* ascii[] = {"vpn", "casino", "gamble", "drugs", "porn"};
    for (const char* w : ascii) out.emplace_back(w);
    while (out.size() < kLarge) {
      std::string word;
      const int length = 2 + static_cast<int>(rng() % 3);
      for (int i = 0; i < length; ++i) append_utf8(word, common_han(rng));
      out.push_back(std::move(word));
    }
    return out;
  }();
  return words;
}

// Mixed Chinese and ASCII, with a word from the small dictionary now and then so both filters
// find the same hits and the masking path is exercised.
const std::string& text() {
  static const std::string value = [] {
    std::mt19937 rng(11);
    const auto& words = dictionary();
    std::string out;
    while (out.size() < kTextBytes) {
      const unsigned pick = rng() % 100;
      if (pick < 2) {
        out += words[rng() % kSmall];
      } else if (pick < 12) {
        out += " hello World 123 ";
      } else if (pick < 16) {
        out += "，";
      } else {
        append_utf8(out, common_han(rng));
      }
    }
    return out;
  }();
  return value;
}

std::vector<std::string> first_words(int count) {
  const auto& all = dictionary();
  return {all.begin(), all.begin() + count};
}

void BM_FilterMask(benchmark::State& state) {
  const auto filter = WordFilter::build(first_words(static_cast<int>(state.range(0))));
  const std::string& input = text();
  for (auto _ : state) benchmark::DoNotOptimize(filter->mask(input));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}
BENCHMARK(BM_FilterMask)->Arg(kSmall)->Arg(kLarge);

void BM_FilterCleanScan(benchmark::State& state) {
  // Characters that are in no word (the common case for chat text): the whole text is scanned
  // on the fast path that drops straight back to the root.
  const auto filter = WordFilter::build(first_words(static_cast<int>(state.range(0))));
  std::string input;
  std::mt19937 rng(3);
  while (input.size() < kTextBytes) append_utf8(input, 0x9000 + rng() % 1000);
  for (auto _ : state) benchmark::DoNotOptimize(filter->contains_any(input));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}
BENCHMARK(BM_FilterCleanScan)->Arg(kSmall)->Arg(kLarge);

// Baseline: find every occurrence of every word, mark its bytes, then star each marked
// character. No folding, so it does less than the filter and is still the slower one.
std::string naive_mask(const std::vector<std::string>& words, const std::string& input) {
  std::vector<bool> marked(input.size(), false);
  bool any = false;
  for (const std::string& word : words) {
    for (auto at = input.find(word); at != std::string::npos; at = input.find(word, at + 1)) {
      std::fill(marked.begin() + at, marked.begin() + at + word.size(), true);
      any = true;
    }
  }
  if (!any) return input;
  std::string out;
  out.reserve(input.size());
  for (std::size_t i = 0; i < input.size();) {
    std::size_t len = 1;
    while (i + len < input.size() && (static_cast<unsigned char>(input[i + len]) & 0xC0) == 0x80) {
      ++len;
    }
    if (marked[i])
      out += '*';
    else
      out.append(input, i, len);
    i += len;
  }
  return out;
}

void BM_NaiveFind(benchmark::State& state) {
  const auto words = first_words(static_cast<int>(state.range(0)));
  const std::string& input = text();
  for (auto _ : state) benchmark::DoNotOptimize(naive_mask(words, input));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}
BENCHMARK(BM_NaiveFind)->Arg(kSmall)->Arg(kLarge);

void BM_FilterBuild(benchmark::State& state) {
  const auto words = first_words(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(WordFilter::build(words));
}
BENCHMARK(BM_FilterBuild)->Arg(kSmall)->Arg(kLarge)->Unit(benchmark::kMillisecond);

// Prints as usual and keeps each benchmark's CPU time per iteration (ns) for the ratios: CPU
// time, because other builds share this machine and wall time would measure them too.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type == Run::RT_Iteration || median) {
        const double ns =
            run.GetAdjustedCPUTime() / benchmark::GetTimeUnitMultiplier(run.time_unit) * 1e9;
        times_[run.run_name.function_name + "/" + run.run_name.args] = ns;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void print_ratio(const char* what, const std::string& numerator,
                   const std::string& denominator) const {
    const auto n = times_.find(numerator);
    const auto d = times_.find(denominator);
    if (n == times_.end() || d == times_.end() || d->second <= 0) return;
    std::printf("%-58s %8.2fx  (%s / %s)\n", what, n->second / d->second, numerator.c_str(),
                denominator.c_str());
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const std::string small = std::to_string(kSmall);
  const std::string large = std::to_string(kLarge);
  std::printf("\nRatios (same run, text %zu bytes):\n", text().size());
  reporter.print_ratio("filter mask, 10,000 words vs 10 words (1.0 = independent)",
                       "BM_FilterMask/" + large, "BM_FilterMask/" + small);
  reporter.print_ratio("filter clean scan, 10,000 words vs 10 words", "BM_FilterCleanScan/" + large,
                       "BM_FilterCleanScan/" + small);
  reporter.print_ratio("naive find, 10,000 words vs 10 words", "BM_NaiveFind/" + large,
                       "BM_NaiveFind/" + small);
  reporter.print_ratio("naive find vs filter, 10 words (speed-up)", "BM_NaiveFind/" + small,
                       "BM_FilterMask/" + small);
  reporter.print_ratio("naive find vs filter, 10,000 words (speed-up)", "BM_NaiveFind/" + large,
                       "BM_FilterMask/" + large);
  return 0;
}
