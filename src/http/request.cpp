#include "http/request.hpp"

#include <strings.h>

#include <boost/json/parse.hpp>
#include <boost/url/parse_query.hpp>

namespace chatglmd::http {

std::optional<std::string_view> Form::get(std::string_view key) const {
  for (const auto& [k, v] : pairs_)
    if (k == key) return std::string_view(v);
  return std::nullopt;
}

std::string Form::get_or(std::string_view key, std::string_view fallback) const {
  auto v = get(key);
  return std::string(v ? *v : fallback);
}

std::optional<Form> parse_form(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (text.empty()) return Form{};
  // A copy ends in NUL where the view ends: Boost.URL 1.81's parse_query runs strlen() on the
  // text and so reads past a view that is not (found by the form fuzz target).
  const std::string terminated(text);
  auto parsed = boost::urls::parse_query(terminated);
  if (!parsed) return std::nullopt;
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;  // application/x-www-form-urlencoded, not RFC 3986
  for (auto p : *parsed) {
    if (p.key.empty() && !p.has_value) continue;  // "a=1&&b=2"
    pairs.emplace_back(p.key.decode(opts), p.has_value ? p.value.decode(opts) : std::string());
  }
  return Form(std::move(pairs));
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return {};
}

std::string_view Request::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

boost::system::result<boost::json::value> Request::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) return ec;
  return v;
}

}  // namespace chatglmd::http
