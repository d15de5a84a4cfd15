#pragma once
// The chat and buy page from web_dir: a fixed set of safe names, no traversal, modest caching.
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

}  // namespace chatglmd::http
