#pragma once
// The seam between the simulator's HTTP server (Beast, tests/sim/sim_server.*) and the fake
// upstreams (Alipay, ChatGLM). Handlers see plain values and describe faults as data, so they
// never touch sockets and the server decides how to misbehave.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "net/http_client.hpp"

namespace chatglmd::sim {

inline bool header_name_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct SimRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path + query, as received
  std::string body;
  net::Headers headers;
  // Case-insensitive; "" when absent.
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (header_name_equals(k, name)) return v;
    return {};
  }
};

struct SimResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  net::Headers headers;   // extra headers (Content-Type comes from content_type)
  int delay_ms = 0;       // answer this long after the request arrived
  bool hang = false;      // never answer (keep the connection open until the client gives up)
  long truncate_at = -1;  // send only that many body bytes (Content-Length stays full), then close
  bool drop = false;      // close the connection without any answer
};

}  // namespace chatglmd::sim
