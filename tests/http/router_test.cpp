#include "http/router.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "http/cors.hpp"
#include "http/request.hpp"

namespace chatglmd::http {
namespace {

Router sample() {
  Router r;
  auto noop = [](ExchangePtr) {};
  r.add("GET", "/", noop);
  r.add("GET", "/healthz", noop);
  r.add("GET", "/{file}", noop);
  r.add("GET", "/static/{*path}", noop);
  r.add("GET", "/api/v1/wx/portal/{appid}", noop);
  r.add("POST", "/api/v1/wx/portal/{appid}", noop);
  return r;
}

TEST(HttpRouter, LiteralBeatsParamBeatsRest) {
  Router r = sample();
  EXPECT_EQ(r.match("GET", split_path("/healthz")).route, "/healthz");
  EXPECT_EQ(r.match("GET", split_path("/app.js")).route, "/{file}");
  EXPECT_EQ(r.match("GET", split_path("/app.js")).params.at("file"), "app.js");
  EXPECT_EQ(r.match("GET", split_path("/")).route, "/");
  auto m = r.match("GET", split_path("/static/img/a.png"));
  EXPECT_EQ(m.route, "/static/{*path}");
  EXPECT_EQ(m.params.at("path"), "img/a.png");
}

TEST(HttpRouter, MethodDecidesAndMismatchListsAllowed) {
  Router r = sample();
  auto post = r.match("POST", split_path("/api/v1/wx/portal/wx123"));
  ASSERT_NE(post.handler, nullptr);
  EXPECT_EQ(post.params.at("appid"), "wx123");
  auto put = r.match("PUT", split_path("/api/v1/wx/portal/wx123"));
  EXPECT_EQ(put.handler, nullptr);
  EXPECT_EQ(put.allowed_methods.size(), 2u);
  auto none = r.match("GET", split_path("/a/b/c"));
  EXPECT_EQ(none.handler, nullptr);
  EXPECT_TRUE(none.allowed_methods.empty());
  EXPECT_EQ(r.match("GET", split_path("/api/v1/wx/portal/")).handler, nullptr);  // empty param
}

TEST(HttpForm, DecodesPlusAndPercentOnce) {
  auto f = parse_form("a=1+2&b=%2B%25&c&d=");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->get_or("a"), "1 2");
  EXPECT_EQ(f->get_or("b"), "+%");
  EXPECT_TRUE(f->get("c"));
  EXPECT_EQ(f->get_or("d", "x"), "");
  EXPECT_FALSE(f->get("z"));
  EXPECT_FALSE(parse_form("a=%zz"));
}

// Found by the form fuzz target under ASan: Boost.URL 1.81's parse_query runs strlen() on its
// text, so a query view not followed by a NUL was read past its end (`make test-asan` sees it).
TEST(HttpForm, IsReadNoFurtherThanItsEnd) {
  const std::string_view text = "a=1&b=2";
  auto bytes = std::make_unique<char[]>(text.size());  // no NUL after the view
  std::copy(text.begin(), text.end(), bytes.get());
  auto f = parse_form(std::string_view(bytes.get(), text.size()));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->get_or("b"), "2");
}

TEST(HttpRequest, HeaderLookupIgnoresCase) {
  Request r;
  r.headers = {{"Content-Type", "text/plain"}, {"authorization", "Bearer x"}};
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_EQ(r.header("Authorization"), "Bearer x");
  EXPECT_EQ(r.header("Origin"), "");
}

TEST(HttpCors, OnlyListedOriginsAreEchoed) {
  CorsPolicy none({});
  EXPECT_FALSE(none.allows("http://a"));
  CorsPolicy some({"http://a"});
  EXPECT_TRUE(some.allows("http://a"));
  EXPECT_FALSE(some.allows("http://b"));
  EXPECT_FALSE(some.allows(""));
  EXPECT_EQ(some.preflight("http://b", "").status, 403);
  EXPECT_EQ(some.preflight("http://a", "").status, 204);
}

}  // namespace
}  // namespace chatglmd::http
