#pragma once
// The chat and buy page: from the copy embedded in the binary, or (for development) from a
// web_dir folder with no way out of it. Modest caching either way.
#include <optional>
#include <string>
#include <vector>

#include "http/response.hpp"

namespace chatglmd::http {

std::string_view content_type_for(std::string_view filename);
// The response for these decoded path segments under web_dir ({} means index.html); nullopt
// when there is no such file or the path tries to leave web_dir.
std::optional<Response> serve_static(const std::string& web_dir,
                                     const std::vector<std::string>& segments);
// The same from the embedded copy: an exact name lookup (nothing to traverse), with an ETag;
// a matching If-None-Match gets 304.
std::optional<Response> serve_embedded(const std::vector<std::string>& segments,
                                       std::string_view if_none_match);

}  // namespace chatglmd::http
