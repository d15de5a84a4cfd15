#pragma once
// The chat and buy page compiled into the binary (cmake/embed_web.cmake writes the table from
// web/ at build time), served when http.web_dir is empty.
#include <string_view>
#include <vector>

namespace chatglmd::http {

struct EmbeddedFile {
  std::string_view name;  // path under web/, '/'-separated: "index.html", "app.js"
  std::string_view body;
  std::string_view etag;  // quoted, from the content hash
};

const std::vector<EmbeddedFile>& embedded_web_files();

}  // namespace chatglmd::http
