#include "http/client_address.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <charconv>

namespace chatglmd::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One spelling per host: ::ffff:1.2.3.4 is 1.2.3.4 (a dual-stack socket reports IPv4 peers so).
IpAddress normalised(const IpAddress& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  return a;
}

std::optional<IpAddress> parse_address(std::string_view text) {
  // Zone ids ("fe80::1%eth0") name an interface of this host, not a client.
  if (text.empty() || text.find('%') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return normalised(a);
}

// The address's bytes with every bit after the first `prefix` cleared.
template <typename Bytes>
Bytes masked(Bytes bytes, int prefix) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    int keep = std::clamp(prefix - static_cast<int>(i * 8), 0, 8);
    bytes[i] &= static_cast<unsigned char>(0xff00u >> keep);
  }
  return bytes;
}

IpAddress masked(const IpAddress& a, int prefix) {
  if (a.is_v4()) return boost::asio::ip::address_v4(masked(a.to_v4().to_bytes(), prefix));
  return boost::asio::ip::address_v6(masked(a.to_v6().to_bytes(), prefix));
}

int width(const IpAddress& a) {
  return a.is_v4() ? 32 : 128;
}

}  // namespace

bool Cidr::contains(const IpAddress& a) const {
  if (a.is_v4() != network.is_v4()) return false;
  return masked(a, prefix) == network;
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  text = trim(text);
  auto slash = text.find('/');
  auto address = parse_address(text.substr(0, slash));
  if (!address) return std::nullopt;
  int prefix = width(*address);
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    if (!all_digits(digits) || digits.size() > 3) return std::nullopt;
    std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    // A mapped IPv4 network was turned into IPv4 above: its prefix counts IPv4 bits then.
    bool was_mapped = address->is_v4() && text.substr(0, slash).find(':') != std::string_view::npos;
    if (was_mapped) prefix -= 96;
    if (prefix < 0 || prefix > width(*address)) return std::nullopt;
  }
  return Cidr{masked(*address, prefix), prefix};
}

std::optional<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& items,
                                                    std::string& error) {
  TrustedProxies out;
  for (const auto& item : items) {
    auto cidr = parse_cidr(item);
    if (!cidr) {
      error = "'" + item + "' is not an address or a CIDR (like 10.0.0.0/8 or 2001:db8::/32)";
      return std::nullopt;
    }
    out.cidrs_.push_back(*cidr);
  }
  return out;
}

bool TrustedProxies::contains(const IpAddress& a) const {
  return std::any_of(cidrs_.begin(), cidrs_.end(), [&](const Cidr& c) { return c.contains(a); });
}

std::optional<IpAddress> parse_hop(std::string_view text) {
  text = trim(text);
  if (text.starts_with('[')) {  // "[v6]" or "[v6]:port"
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto rest = text.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && all_digits(rest.substr(1)))) return std::nullopt;
    auto a = parse_address(text.substr(1, close - 1));
    if (!a || !a->is_v6()) return std::nullopt;
    return a;
  }
  auto colon = text.find(':');
  if (colon != std::string_view::npos && colon == text.rfind(':')) {  // "v4:port"
    if (!all_digits(text.substr(colon + 1))) return std::nullopt;
    auto a = parse_address(text.substr(0, colon));
    if (!a || !a->is_v4()) return std::nullopt;
    return a;
  }
  return parse_address(text);
}

std::optional<IpAddress> parse_peer(std::string_view peer) {
  auto colon = peer.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return parse_address(peer.substr(0, colon));
}

std::string client_address(std::string_view peer, const Headers& headers,
                           const TrustedProxies& trusted) {
  auto from = parse_peer(peer);
  if (!from) return std::string(peer);
  if (!trusted.contains(*from)) return from->to_string();
  std::vector<std::string_view> hops;
  for (const auto& [name, value] : headers) {
    if (!boost::beast::iequals(name, "X-Forwarded-For") || trim(value).empty()) continue;
    std::string_view rest = value;
    for (auto comma = rest.find(','); comma != std::string_view::npos; comma = rest.find(',')) {
      hops.push_back(rest.substr(0, comma));
      rest.remove_prefix(comma + 1);
    }
    hops.push_back(rest);
  }
  if (hops.empty()) {
    std::vector<std::string_view> real;
    for (const auto& [name, value] : headers)
      if (boost::beast::iequals(name, "X-Real-IP")) real.push_back(value);
    // Two of them: one came from the caller, and nothing tells which.
    if (real.size() == 1) hops = real;
  }
  IpAddress client = *from;
  // Each trusted hop appended the address it was called from; the first one it could not
  // vouch for (or that is no proxy of ours) is the client.
  for (auto hop = hops.rbegin(); hop != hops.rend() && trusted.contains(client); ++hop) {
    auto address = parse_hop(*hop);
    if (!address) break;
    client = *address;
  }
  return client.to_string();
}

std::string limit_key(std::string_view client) {
  auto a = parse_hop(client);
  if (!a) return std::string(client);
  if (a->is_v4()) return a->to_string();
  return masked(*a, 64).to_string() + "/64";
}

}  // namespace chatglmd::http
