#pragma once
// Word lists as operators write them: one word a line, surrounding blanks trimmed, empty lines
// and lines starting with '#' skipped, a UTF-8 BOM and CRLF line ends tolerated.
#include <boost/system/result.hpp>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace chatglmd::filter {

std::vector<std::string> parse_word_list(std::string_view content);

// The words of a file; the error says why the file could not be read.
boost::system::result<std::vector<std::string>> load_word_file(const std::filesystem::path& path);

}  // namespace chatglmd::filter
