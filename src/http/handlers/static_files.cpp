#include "http/handlers/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace chatglmd::http {

namespace fs = std::filesystem;

namespace {

bool safe_segment(const std::string& s) {
  // Hidden files, "..", and anything a decoded %2F or %00 could smuggle in are refused.
  if (s.empty() || s.front() == '.') return false;
  return s.find_first_of(std::string_view("/\\\0", 3)) == std::string::npos;
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
  auto dot = name.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "woff2") return "font/woff2";
  return "application/octet-stream";
}

std::optional<Response> serve_static(const std::string& web_dir,
                                     const std::vector<std::string>& segments) {
  if (web_dir.empty()) return std::nullopt;
  std::vector<std::string> parts = segments;
  if (parts.empty() || (parts.size() == 1 && parts[0].empty())) parts = {"index.html"};
  fs::path path(web_dir);
  for (const auto& s : parts) {
    if (!safe_segment(s)) return std::nullopt;
    path /= s;
  }
  std::error_code ec;
  auto root = fs::canonical(web_dir, ec);
  if (ec) return std::nullopt;
  auto real = fs::canonical(path, ec);
  if (ec || !fs::is_regular_file(real, ec)) return std::nullopt;
  // A symlink out of web_dir is traversal too.
  auto rel = real.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  std::ifstream in(real, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream body;
  body << in.rdbuf();
  Response r =
      Response::text(200, body.str(), std::string(content_type_for(real.filename().string())));
  // The page changes with deployments: revalidate it; assets may be cached briefly.
  r.headers.emplace_back("Cache-Control",
                         parts.back() == "index.html" ? "no-cache" : "public, max-age=300");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace chatglmd::http
