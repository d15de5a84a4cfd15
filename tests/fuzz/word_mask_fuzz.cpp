// The sensitive-word masker over any bytes, bad UTF-8 included. Properties: valid UTF-8 stays
// valid, the text never grows, and it changes exactly when the text holds a word.
#include <vector>

#include "filter/word_filter.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace chatglmd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Cursor in(fuzz::as_text(data, size));
  // Up to eight words, one per line, then the text. The first byte also picks the layout: the
  // double array, every state hashed, or a mix.
  const auto first = in.byte();
  std::vector<std::string> words;
  for (auto n = first % 9; n > 0; --n) words.emplace_back(in.until('\n'));
  std::string_view text = in.rest();
  const filter::LayoutOptions layouts[] = {{}, {0}, {1}};
  auto filter = filter::WordFilter::build(words, layouts[first / 9 % 3]);
  auto masked = filter->mask(text);
  FUZZ_CHECK(masked.size() <= text.size());
  if (fuzz::valid_utf8(text)) FUZZ_CHECK(fuzz::valid_utf8(masked));
  if (!filter->contains_any(text)) FUZZ_CHECK(masked == text);
  if (masked != text) FUZZ_CHECK(filter->contains_any(text));
  return 0;
}
