#include "net/url.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace chatglmd::net {

bool is_loopback_host(std::string_view host) {
  if (boost::beast::iequals(host, "localhost")) return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

std::optional<ParsedUrl> parse_url(std::string_view text, std::string& error) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    error = "not a URL";
    return std::nullopt;
  }
  const boost::urls::url_view& url = *parsed;
  ParsedUrl out;
  if (url.scheme_id() == boost::urls::scheme::https) {
    out.tls = true;
  } else if (url.scheme_id() != boost::urls::scheme::http) {
    error = "scheme must be http or https";
    return std::nullopt;
  }
  if (!url.has_authority() || url.encoded_host().empty()) {
    error = "URL has no host";
    return std::nullopt;
  }
  if (url.has_userinfo()) {
    error = "credentials in URLs are not supported";
    return std::nullopt;
  }
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4:
      out.host = url.host_ipv4_address().to_string();
      out.host_is_ip = true;
      break;
    case boost::urls::host_type::ipv6:
      out.host = url.host_ipv6_address().to_string();
      out.host_is_ip = true;
      break;
    case boost::urls::host_type::name:
      out.host = url.host_name();
      break;
    default:
      error = "unsupported host";
      return std::nullopt;
  }
  const std::string default_port = out.tls ? "443" : "80";
  out.port = url.has_port() && !url.port().empty() ? std::string(url.port()) : default_port;
  if (url.has_port()) {
    if (url.port_number() == 0) {
      error = "bad port";
      return std::nullopt;
    }
  }
  // Plain text would expose payment data and API keys; only a local simulator may use it.
  if (!out.tls && !is_loopback_host(out.host)) {
    error = "plain http:// is allowed only for loopback hosts";
    return std::nullopt;
  }
  out.target = std::string(url.encoded_path());
  if (out.target.empty()) out.target = "/";
  if (url.has_query()) out.target += "?" + std::string(url.encoded_query());
  const std::string host_text =
      url.host_type() == boost::urls::host_type::ipv6 ? "[" + out.host + "]" : out.host;
  out.host_header = out.port == default_port ? host_text : host_text + ":" + out.port;
  return out;
}

}  // namespace chatglmd::net
