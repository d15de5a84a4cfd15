#pragma once
// Splits an http(s) URL into what a connection needs, and enforces the rule that plain http:// is
// only for loopback hosts (tests and local simulators), never for a real gateway.
#include <optional>
#include <string>
#include <string_view>

namespace chatglmd::net {

struct ParsedUrl {
  bool tls = false;
  std::string host;         // without brackets for IPv6
  std::string port;         // always set ("443" / "80" by default)
  std::string target;       // path + query, at least "/"
  std::string host_header;  // Host: value (port only when not the default)
  bool host_is_ip = false;  // SNI is not sent for IP literals
  std::string pool_key() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

bool is_loopback_host(std::string_view host);

// nullopt and a reason in `error` when the URL is unusable or plain http to a non-loopback host.
std::optional<ParsedUrl> parse_url(std::string_view url, std::string& error);

}  // namespace chatglmd::net
