#include "http/handlers/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/handlers/embedded_web.hpp"

namespace chatglmd::http {

namespace fs = std::filesystem;

namespace {

bool safe_segment(const std::string& s) {
  // Hidden files, "..", and anything a decoded %2F or %00 could smuggle in are refused.
  if (s.empty() || s.front() == '.') return false;
  return s.find_first_of(std::string_view("/\\\0", 3)) == std::string::npos;
}

// The pages load nothing but their own files: no inline script or style, no other origin. So
// an answer's Markdown that got past the sanitiser can run nothing, load nothing from elsewhere
// (a tracking image) and the page cannot be framed. form-action stays open: the page-pay form
// posts to the configured Alipay gateway.
constexpr const char* kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

// Any HTML document is a page: an operator's own pages in http.web_dir get the policy too.
bool is_html(std::string_view content_type) {
  return content_type.starts_with("text/html");
}

// The page changes with deployments: revalidate it; assets may be cached briefly.
void add_cache_headers(Response& r, bool is_page) {
  r.headers.emplace_back("Cache-Control", is_page ? "no-cache" : "public, max-age=300");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (is_page) {
    r.headers.emplace_back("Content-Security-Policy", kPagePolicy);
    r.headers.emplace_back("Referrer-Policy", "same-origin");
  }
}

// Any of the comma-separated entity tags, or *, matches (RFC 9110 13.1.2, weak comparison).
bool etag_matches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = header.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.rfind("W/", 0) == 0) item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
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
  add_cache_headers(r, is_html(r.content_type));
  return r;
}

std::optional<Response> serve_embedded(const std::vector<std::string>& segments,
                                       std::string_view if_none_match) {
  std::string name;
  const bool root = segments.empty() || (segments.size() == 1 && segments[0].empty());
  for (const auto& s : root ? std::vector<std::string>{} : segments) {
    if (!safe_segment(s)) return std::nullopt;
    name += (name.empty() ? "" : "/") + s;
  }
  if (name.empty()) name = "index.html";
  for (const auto& f : embedded_web_files()) {
    if (f.name != name) continue;
    const bool not_modified = !if_none_match.empty() && etag_matches(if_none_match, f.etag);
    Response r = Response::text(not_modified ? 304 : 200, not_modified ? "" : std::string(f.body),
                                std::string(content_type_for(f.name)));
    r.headers.emplace_back("ETag", std::string(f.etag));
    add_cache_headers(r, is_html(content_type_for(f.name)));
    return r;
  }
  return std::nullopt;
}

}  // namespace chatglmd::http
