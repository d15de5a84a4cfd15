// Whose address a request counts under: the peer, unless a trusted proxy says otherwise.
#include "http/client_address.hpp"

#include <gtest/gtest.h>

namespace chatglmd::http {
namespace {

TrustedProxies trust(const std::vector<std::string>& cidrs) {
  std::string error;
  auto t = TrustedProxies::parse(cidrs, error);
  EXPECT_TRUE(t) << error;
  return t.value_or(TrustedProxies{});
}

Headers xff(const std::string& value) {
  return {{"X-Forwarded-For", value}};
}

TEST(Cidr, ParsesNetworksAndHostsOfBothFamilies) {
  auto net = parse_cidr("10.1.0.0/16");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains(*parse_hop("10.1.255.3")));
  EXPECT_FALSE(net->contains(*parse_hop("10.2.0.1")));
  EXPECT_FALSE(net->contains(*parse_hop("::ffff:10.2.0.1")));
  EXPECT_TRUE(net->contains(*parse_hop("::ffff:10.1.0.1")));  // mapped IPv4 is IPv4

  auto host_bits = parse_cidr("192.168.1.77/24");  // host bits are cleared, not an error
  ASSERT_TRUE(host_bits);
  EXPECT_TRUE(host_bits->contains(*parse_hop("192.168.1.1")));

  auto one = parse_cidr(" 127.0.0.1 ");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->prefix, 32);
  EXPECT_FALSE(one->contains(*parse_hop("127.0.0.2")));

  auto v6 = parse_cidr("2001:db8:abcd::/48");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*parse_hop("2001:db8:abcd:12::1")));
  EXPECT_FALSE(v6->contains(*parse_hop("2001:db8:abce::1")));
  EXPECT_FALSE(v6->contains(*parse_hop("10.0.0.1")));
  EXPECT_TRUE(parse_cidr("::/0")->contains(*parse_hop("::1")));
  EXPECT_FALSE(parse_cidr("::/0")->contains(*parse_hop("1.2.3.4")));  // families never mix

  auto mapped = parse_cidr("::ffff:10.0.0.0/104");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->contains(*parse_hop("10.9.9.9")));
}

TEST(Cidr, RefusesWhatIsNotACidr) {
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8",
                          "10.0.0.0/8/8", "nginx", "10.0.0.0/ 8", "10.0.0.0/8x", "fe80::1%eth0",
                          "1.2.3.4:80", "[::1]", "10.0.0.0/0008"})
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  std::string error;
  EXPECT_FALSE(TrustedProxies::parse({"10.0.0.0/8", "10.0.0.300"}, error));
  EXPECT_NE(error.find("'10.0.0.300'"), std::string::npos) << error;
}

TEST(ParseHop, ReadsAddressesWithOrWithoutPorts) {
  EXPECT_EQ(parse_hop("203.0.113.7")->to_string(), "203.0.113.7");
  EXPECT_EQ(parse_hop(" 203.0.113.7:51234 ")->to_string(), "203.0.113.7");
  EXPECT_EQ(parse_hop("2001:db8::7")->to_string(), "2001:db8::7");
  EXPECT_EQ(parse_hop("[2001:db8::7]:443")->to_string(), "2001:db8::7");
  EXPECT_EQ(parse_hop("[2001:db8::7]")->to_string(), "2001:db8::7");
  EXPECT_EQ(parse_hop("::ffff:203.0.113.7")->to_string(), "203.0.113.7");
  for (const char* bad :
       {"", "unknown", "203.0.113", "203.0.113.7:", "203.0.113.7:http", "[203.0.113.7]:80",
        "[2001:db8::7", "[2001:db8::7]x", "2001:db8::7:::", "_hidden", "1.2.3.4 5.6.7.8"})
    EXPECT_FALSE(parse_hop(bad)) << bad;
}

TEST(ClientAddress, WithoutTrustedProxiesThePeerIsTheClientWhateverTheHeadersSay) {
  TrustedProxies none;
  Headers spoof = {{"X-Forwarded-For", "198.51.100.1"}, {"X-Real-IP", "198.51.100.2"}};
  EXPECT_EQ(client_address("127.0.0.1:5000", spoof, none), "127.0.0.1");
  EXPECT_EQ(client_address("::1:5000", spoof, none), "::1");
  EXPECT_EQ(client_address("::ffff:192.0.2.4:5000", {}, none), "192.0.2.4");
}

TEST(ClientAddress, SpoofedHeadersFromAnUntrustedPeerAreIgnored) {
  auto t = trust({"10.0.0.0/8"});
  EXPECT_EQ(client_address("192.0.2.9:4000", xff("10.0.0.1, 198.51.100.1"), t), "192.0.2.9");
  EXPECT_EQ(client_address("192.0.2.9:4000", {{"X-Real-IP", "198.51.100.2"}}, t), "192.0.2.9");
}

TEST(ClientAddress, ATrustedPeerNamesTheRightmostUntrustedHop) {
  auto t = trust({"127.0.0.1", "10.0.0.0/8"});
  // The client wrote the first entry itself; our proxies appended the rest.
  EXPECT_EQ(client_address("127.0.0.1:80", xff("6.6.6.6, 203.0.113.7, 10.0.0.2"), t),
            "203.0.113.7");
  EXPECT_EQ(client_address("127.0.0.1:80", xff("203.0.113.7"), t), "203.0.113.7");
  // Several headers are one list, in order.
  Headers split = {{"X-Forwarded-For", "6.6.6.6"},
                   {"x-forwarded-for", "203.0.113.8:5555"},
                   {"X-FORWARDED-FOR", "10.1.1.1"}};
  EXPECT_EQ(client_address("127.0.0.1:80", split, t), "203.0.113.8");
  // Every hop trusted: the client is the farthest one.
  EXPECT_EQ(client_address("127.0.0.1:80", xff("10.0.0.9, 10.0.0.2"), t), "10.0.0.9");
  // X-Forwarded-For wins over X-Real-IP; X-Real-IP alone names the client.
  Headers both = {{"X-Real-IP", "198.51.100.5"}, {"X-Forwarded-For", "203.0.113.7"}};
  EXPECT_EQ(client_address("127.0.0.1:80", both, t), "203.0.113.7");
  EXPECT_EQ(client_address("127.0.0.1:80", {{"X-Real-IP", "198.51.100.5"}}, t), "198.51.100.5");
  EXPECT_EQ(client_address("127.0.0.1:80", {}, t), "127.0.0.1");
}

TEST(ClientAddress, GarbageStopsAtTheLastHopATrustedProxyVouchedFor) {
  auto t = trust({"127.0.0.1", "10.0.0.0/8"});
  // Made-up text must never become an identity: a fresh string per request would be a fresh
  // budget per request.
  EXPECT_EQ(client_address("127.0.0.1:80", xff("203.0.113.7, nonsense"), t), "127.0.0.1");
  EXPECT_EQ(client_address("127.0.0.1:80", xff("nonsense, 10.0.0.2"), t), "10.0.0.2");
  EXPECT_EQ(client_address("127.0.0.1:80", xff("nonsense, 203.0.113.7, 10.0.0.2"), t),
            "203.0.113.7");
  EXPECT_EQ(client_address("127.0.0.1:80", xff("203.0.113.7,,10.0.0.2"), t), "10.0.0.2");
  EXPECT_EQ(client_address("127.0.0.1:80", {{"X-Real-IP", "me"}}, t), "127.0.0.1");
  // Two X-Real-IP headers: one is the caller's, nothing tells which.
  Headers two = {{"X-Real-IP", "198.51.100.5"}, {"X-Real-IP", "198.51.100.6"}};
  EXPECT_EQ(client_address("127.0.0.1:80", two, t), "127.0.0.1");
  // A blank X-Forwarded-For is no list at all.
  Headers blank = {{"X-Forwarded-For", " "}, {"X-Real-IP", "198.51.100.5"}};
  EXPECT_EQ(client_address("127.0.0.1:80", blank, t), "198.51.100.5");
}

TEST(ClientAddress, IPv6ProxiesAndClients) {
  auto t = trust({"::1/128", "fd00::/8"});
  EXPECT_EQ(client_address("::1:8080", xff("[2001:db8::7]:1234, fd00::3"), t), "2001:db8::7");
  EXPECT_EQ(client_address("::1:8080", xff("2001:db8::7"), t), "2001:db8::7");
  EXPECT_EQ(client_address("fd00::3:8080", xff("198.51.100.7"), t), "198.51.100.7");
  EXPECT_EQ(client_address("2001:db8::9:8080", xff("198.51.100.7"), t), "2001:db8::9");
}

TEST(LimitKey, IPv4ByAddressIPv6ByItsSlash64) {
  EXPECT_EQ(limit_key("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(limit_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(limit_key("2001:db8:1:2::1"), limit_key("2001:db8:1:2:ffff::9"));
  EXPECT_NE(limit_key("2001:db8:1:2::1"), limit_key("2001:db8:1:3::1"));
  EXPECT_EQ(limit_key("::ffff:203.0.113.7"), "203.0.113.7");
}

}  // namespace
}  // namespace chatglmd::http
