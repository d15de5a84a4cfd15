#include "http/request_reader.hpp"

#include <boost/url/parse.hpp>
#include <utility>

namespace chatglmd::http {

namespace bhttp = boost::beast::http;

bool body_length_unknown(const RequestParser& parser) {
  return parser.get().count(bhttp::field::transfer_encoding) != 0 && !parser.chunked();
}

std::optional<Request> to_request(RequestMessage& msg, const std::string& peer,
                                  const TrustedProxies& trusted) {
  Request r;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  r.version = static_cast<int>(msg.version());
  auto url = boost::urls::parse_origin_form(r.target);
  if (!url) return std::nullopt;
  r.path = std::string(url->encoded_path());
  for (auto s : url->segments()) r.segments.push_back(std::string(s));
  if (url->has_query()) r.query = parse_form(url->encoded_query()).value_or(Form{});
  for (const auto& f : msg)
    r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  r.body = std::move(msg.body());
  r.peer = peer;
  r.client = client_address(peer, r.headers, trusted);
  return r;
}

}  // namespace chatglmd::http
