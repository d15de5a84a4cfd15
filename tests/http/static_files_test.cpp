// serve_static against names that try to leave the web folder: dot segments, encoded separators
// and NUL after decoding, and symlinks that point out of it.
#include "http/handlers/static_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>

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

}  // namespace
}  // namespace chatglmd::http
