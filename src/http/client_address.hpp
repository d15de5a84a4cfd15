#pragma once
// Who is calling: the TCP peer, unless that peer is a reverse proxy the operator trusts
// (`http.trusted_proxies`); then the address the proxies say they saw. Pure: no sockets, no logs.
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"

namespace chatglmd::http {

using IpAddress = boost::asio::ip::address;

// A network in CIDR notation ("10.0.0.0/8", "2001:db8::/32"); a bare address is one host.
struct Cidr {
  IpAddress network;  // host bits cleared
  int prefix = 0;
  bool contains(const IpAddress& a) const;
};

// nullopt unless text is an address with an optional /prefix no wider than its family.
std::optional<Cidr> parse_cidr(std::string_view text);

class TrustedProxies {
 public:
  TrustedProxies() = default;  // none: every peer is the client
  // One CIDR per item; nullopt with error naming the first bad item.
  static std::optional<TrustedProxies> parse(const std::vector<std::string>& items,
                                             std::string& error);
  bool contains(const IpAddress& a) const;
  bool empty() const { return cidrs_.empty(); }

 private:
  std::vector<Cidr> cidrs_;
};

// An address as a proxy writes it in a header: "1.2.3.4", "1.2.3.4:80", "::1", "[::1]:80",
// with blanks around. IPv4-mapped IPv6 becomes IPv4, so one client has one spelling.
std::optional<IpAddress> parse_hop(std::string_view text);

// The address of a peer as the front records it: "127.0.0.1:53422", "::1:53422".
std::optional<IpAddress> parse_peer(std::string_view peer);

// The client of a request that came from `peer`. Only a trusted peer's headers are believed:
// X-Forwarded-For (every such header, in order, read as one comma list) walked from the right,
// skipping hops that are themselves trusted; without X-Forwarded-For, X-Real-IP. An entry that
// is not an address stops the walk at the last hop a trusted proxy vouched for, so made-up text
// never becomes an identity.
std::string client_address(std::string_view peer, const Headers& headers,
                           const TrustedProxies& trusted);

// The key per-address limits count under: an IPv4 address as is, an IPv6 one by its /64 (one
// subscriber gets a whole /64, so counting single addresses would give them 2^64 budgets).
std::string limit_key(std::string_view client);

}  // namespace chatglmd::http
