#include "filter/word_file.hpp"

#include <cerrno>
#include <fstream>
#include <iterator>

namespace chatglmd::filter {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// ASCII blanks and the ideographic space, which Chinese input methods put in easily.
std::string_view trim(std::string_view s) {
  for (;;) {
    if (!s.empty() && is_blank(s.front()))
      s.remove_prefix(1);
    else if (s.starts_with(kIdeographicSpace))
      s.remove_prefix(kIdeographicSpace.size());
    else
      break;
  }
  for (;;) {
    if (!s.empty() && is_blank(s.back()))
      s.remove_suffix(1);
    else if (s.ends_with(kIdeographicSpace))
      s.remove_suffix(kIdeographicSpace.size());
    else
      break;
  }
  return s;
}

}  // namespace

std::vector<std::string> parse_word_list(std::string_view content) {
  if (content.starts_with(kBom)) content.remove_prefix(kBom.size());
  std::vector<std::string> words;
  while (!content.empty()) {
    const std::size_t end = content.find('\n');
    const std::string_view line = trim(content.substr(0, end));
    content = end == std::string_view::npos ? std::string_view{} : content.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    words.emplace_back(line);
  }
  return words;
}

boost::system::result<std::vector<std::string>> load_word_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return boost::system::error_code(EISDIR, boost::system::generic_category());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return boost::system::error_code(errno ? errno : ENOENT, boost::system::generic_category());
  std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return boost::system::error_code(EIO, boost::system::generic_category());
  return parse_word_list(content);
}

}  // namespace chatglmd::filter
