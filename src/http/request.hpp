#pragma once
// One parsed HTTP request as handlers see it: no Beast types, so handler files stay light.
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatglmd::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Decoded key/value pairs of a query string or an application/x-www-form-urlencoded body, in order.
class Form {
 public:
  Form() = default;
  explicit Form(std::vector<std::pair<std::string, std::string>> pairs)
      : pairs_(std::move(pairs)) {}
  // The first value for key, if present.
  std::optional<std::string_view> get(std::string_view key) const;
  std::string get_or(std::string_view key, std::string_view fallback = {}) const;
  const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// Form-decodes once (`+` is a space, %XX a byte). Empty text is an empty form; text that is not
// a query string (bad escapes, stray characters) is nullopt.
std::optional<Form> parse_form(std::string_view text);

struct Request {
  std::string method;                 // "GET", "POST", ...
  std::string target;                 // as sent: "/a/b?x=1"
  std::string path;                   // target without the query, still percent-encoded
  std::vector<std::string> segments;  // decoded path segments ("/a/b" -> {"a","b"})
  Form query;
  Headers headers;
  std::string body;
  std::string peer;                           // "127.0.0.1:53422"
  std::map<std::string, std::string> params;  // from the route pattern: {appid} -> value
  int version = 11;                           // 10 or 11
  // The caller's address: the peer, or the client that trusted proxies name (client_address.hpp).
  std::string client;

  // Case-insensitive header lookup; "" when absent.
  std::string_view header(std::string_view name) const;
  std::string_view param(const std::string& name) const;
  // The body as a form (for POST form endpoints); nullopt when it is not one.
  std::optional<Form> form() const { return parse_form(body); }
  // The body as JSON; an error value when it does not parse.
  boost::system::result<boost::json::value> json() const;
};

}  // namespace chatglmd::http
