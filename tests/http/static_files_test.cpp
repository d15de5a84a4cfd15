// serve_static against names that try to leave the web folder: dot segments, encoded separators
// and NUL after decoding, and symlinks that point out of it.
#include "http/handlers/static_files.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace chatglmd::http {
namespace {

namespace fs = std::filesystem;
using chatglmd::testing::TempDir;
using chatglmd::testing::write_file;

class StaticFilesTest : public ::testing::Test {
 protected:
  StaticFilesTest() {
    fs::create_directories(web() / "static");
    write_file(web() / "index.html", "<html>page</html>");
    write_file(web() / "static" / "app.js", "js");
    write_file(dir_.path() / "secret.txt", "secret");
    fs::create_directories(dir_.path() / "outside");
    write_file(dir_.path() / "outside" / "x.js", "outside");
  }
  fs::path web() const { return dir_.path() / "web"; }
  std::optional<Response> get(const std::vector<std::string>& segments) const {
    return serve_static(web().string(), segments);
  }

  TempDir dir_;
};

TEST_F(StaticFilesTest, ServesFilesInside) {
  auto index = get({});
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body, "<html>page</html>");
  auto js = get({"static", "app.js"});
  ASSERT_TRUE(js);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
}

TEST_F(StaticFilesTest, DecodedSegmentsThatLeaveTheFolderAreRefused) {
  // Segments arrive percent-decoded: %2e%2e is "..", %2f a '/' inside one segment, %00 a NUL.
  for (const auto& segments : std::vector<std::vector<std::string>>{
           {".."},
           {"..", "secret.txt"},
           {"static", "..", "..", "secret.txt"},
           {"../secret.txt"},
           {"static", "..\\..\\secret.txt"},
           {"/etc/passwd"},
           {std::string("index.html\0.js", 14)},
           {"", "etc", "passwd"},
           {".hidden"},
           {"static", ""},
       }) {
    EXPECT_FALSE(get(segments)) << ::testing::PrintToString(segments);
  }
}

TEST_F(StaticFilesTest, SymlinksOutOfTheFolderAreRefused) {
  fs::create_symlink(dir_.path() / "secret.txt", web() / "leak.txt");
  fs::create_directory_symlink(dir_.path() / "outside", web() / "static" / "out");
  fs::create_symlink(web() / "index.html", web() / "alias.html");  // stays inside
  EXPECT_FALSE(get({"leak.txt"}));
  EXPECT_FALSE(get({"static", "out", "x.js"}));
  auto alias = get({"alias.html"});
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->body, "<html>page</html>");
  // A folder, a dangling link and a missing file are simply not there.
  fs::create_symlink(dir_.path() / "gone", web() / "dangling.js");
  EXPECT_FALSE(get({"static"}));
  EXPECT_FALSE(get({"dangling.js"}));
  EXPECT_FALSE(get({"nope.js"}));
}

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

// An operator's own page in http.web_dir, whatever its name, is served under the page policy;
// its scripts are not.
TEST_F(StaticFilesTest, EveryHtmlPageGetsThePagePolicy) {
  write_file(web() / "about.html", "<html>about</html>");
  for (const auto& page : std::vector<std::vector<std::string>>{{}, {"about.html"}}) {
    auto r = get(page);
    ASSERT_TRUE(r);
    EXPECT_NE(header(*r, "Content-Security-Policy").find("default-src 'self'"), std::string::npos)
        << ::testing::PrintToString(page);
    EXPECT_EQ(header(*r, "Referrer-Policy"), "same-origin");
    EXPECT_EQ(header(*r, "Cache-Control"), "no-cache");
  }
  EXPECT_EQ(header(*get({"static", "app.js"}), "Content-Security-Policy"), "");
}

// The page compiled into the binary: what `GET /` answers with http.web_dir empty (the default),
// whatever folder the daemon runs from.

TEST(EmbeddedPage, HoldsEveryFileOfWebButItsTestsAndDeps) {
  const fs::path web = fs::path(CHATGLMD_SOURCE_DIR) / "web";
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(web)) {
    auto rel = entry.path().lexically_relative(web);
    // web/deps pins the vendored libraries (package.json, lockfile, node_modules): not served.
    if (!entry.is_regular_file() || *rel.begin() == "test" || *rel.begin() == "deps") continue;
    std::vector<std::string> segments(rel.begin(), rel.end());
    auto r = serve_embedded(segments, "");
    ASSERT_TRUE(r) << rel;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, chatglmd::testing::read_file(entry.path())) << rel;
    EXPECT_EQ(r->content_type, content_type_for(rel.filename().string())) << rel;
    ++files;
  }
  EXPECT_GE(files, 3);
  auto index = serve_embedded({}, "");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body, chatglmd::testing::read_file(web / "index.html"));
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(*index, "Cache-Control"), "no-cache");
  ASSERT_TRUE(serve_embedded({""}, "")) << "GET / arrives as one empty segment";
  EXPECT_EQ(header(*serve_embedded({"app.js"}, ""), "Cache-Control"), "public, max-age=300");
  auto admin = serve_embedded({"admin", "index.html"}, "");
  ASSERT_TRUE(admin);
  EXPECT_EQ(header(*admin, "Cache-Control"), "no-cache") << "the dashboard page is a page too";
  EXPECT_EQ(header(*serve_embedded({"admin", "admin.js"}, ""), "Cache-Control"),
            "public, max-age=300");
}

// Markup the page policy below forbids: a <script> without src, a <style> element, a style
// attribute or an inline event handler (on...=). Lower-case markup, as the pages are written.
std::string needs_more_than_own_files(const std::string& html) {
  for (std::size_t at = html.find("<script"); at != std::string::npos;
       at = html.find("<script", at + 1)) {
    const std::string tag = html.substr(at, html.find('>', at) - at);
    if (tag.find(" src=") == std::string::npos) return "an inline script: " + tag;
  }
  if (html.find("<style") != std::string::npos) return "a <style> element";
  if (html.find(" style=") != std::string::npos) return "a style attribute";
  for (std::size_t at = html.find(" on"); at != std::string::npos; at = html.find(" on", at + 1)) {
    std::size_t end = at + 3;
    while (end < html.size() && std::islower(static_cast<unsigned char>(html[end]))) ++end;
    if (end > at + 3 && end < html.size() && html[end] == '=')
      return "an event handler: " + html.substr(at, end - at);
  }
  return "";
}

// Both pages are served under a policy that allows only their own files, and nothing in them
// needs more (the browser suite runs them under it).
TEST(EmbeddedPage, PagesAreServedUnderAPolicyTheirOwnMarkupKeeps) {
  for (const auto& page : std::vector<std::vector<std::string>>{{}, {"admin", "index.html"}}) {
    auto r = serve_embedded(page, "");
    ASSERT_TRUE(r);
    const std::string policy = header(*r, "Content-Security-Policy");
    EXPECT_NE(policy.find("default-src 'self'"), std::string::npos) << policy;
    EXPECT_NE(policy.find("script-src 'self';"), std::string::npos) << policy;
    EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << policy;
    EXPECT_EQ(policy.find("unsafe"), std::string::npos) << policy;
    EXPECT_EQ(needs_more_than_own_files(r->body), "");
  }
  EXPECT_EQ(needs_more_than_own_files(R"html(<p onclick="x()">)html"),
            "an event handler:  onclick");
  EXPECT_EQ(needs_more_than_own_files("<script>alert(1)</script>"), "an inline script: <script");
  EXPECT_EQ(header(*serve_embedded({"app.js"}, ""), "Content-Security-Policy"), "")
      << "a policy is for documents";
}

TEST(EmbeddedPage, UnknownTestAndTraversalNamesAreNotThere) {
  for (const auto& segments : std::vector<std::vector<std::string>>{
           {"nope.js"},
           {"test", "page.test.mjs"},
           {"deps", "package-lock.json"},
           {"..", "README.md"},
           {"..", "web", "index.html"},
           {"./index.html"},
           {"static", "..", "index.html"},
           {std::string("index.html\0", 11)},
       }) {
    EXPECT_FALSE(serve_embedded(segments, "")) << ::testing::PrintToString(segments);
  }
}

TEST(EmbeddedPage, AMatchingETagAnswersNotModified) {
  auto first = serve_embedded({"app.js"}, "");
  ASSERT_TRUE(first);
  const std::string etag = header(*first, "ETag");
  ASSERT_EQ(etag.size(), 22u) << etag;
  EXPECT_EQ(etag.front(), '"');
  auto again = serve_embedded({"app.js"}, etag);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_EQ(again->body, "");
  EXPECT_EQ(header(*again, "ETag"), etag);
  EXPECT_EQ(serve_embedded({"app.js"}, "\"other\", W/" + etag)->status, 304);
  EXPECT_EQ(serve_embedded({"app.js"}, "\"other\"")->status, 200);
  EXPECT_NE(header(*serve_embedded({}, ""), "ETag"), etag) << "one tag per content";
}

}  // namespace
}  // namespace chatglmd::http
