#include "pay/alipay_params.hpp"

#include <algorithm>
#include <boost/url/encode.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace chatglmd::pay {

std::string sign_content(Params params, EmptyValues empties) {
  std::erase_if(params, [&](const auto& kv) {
    return kv.first == "sign" || kv.first.empty() ||
           (empties == EmptyValues::Drop && kv.second.empty());
  });
  // Stable, so duplicate keys keep their wire order as the SDKs do.
  std::stable_sort(params.begin(), params.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string url_encode(std::string_view text) {
  return boost::urls::encode(text, boost::urls::unreserved_chars);
}

std::string form_encode(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += url_encode(k);
    out += '=';
    out += url_encode(v);
  }
  return out;
}

std::optional<Params> form_decode(std::string_view body) {
  Params out;
  if (body.empty()) return out;
  // Both Boost.URL 1.81 calls below run strlen() on the text and so read past a view that is not
  // followed by a NUL (found by the form fuzz target): they get a copy, which is.
  const std::string terminated(body);
  // Validate first: the decoding view throws on malformed input, parse_query reports it.
  if (!boost::urls::parse_query(terminated)) return std::nullopt;
  const boost::urls::params_view decoded(terminated, boost::urls::encoding_opts(true));
  for (const auto& p : decoded) {
    // "a=1&&b=2&": an empty segment is no parameter, as the front's parse_form reads it too.
    if (p.key.empty() && !p.has_value) continue;
    out.emplace_back(p.key, p.value);
  }
  return out;
}

std::optional<std::string> find_param(const Params& params, std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key) return v;
  return std::nullopt;
}

}  // namespace chatglmd::pay
