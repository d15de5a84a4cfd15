#pragma once
#include <string>

namespace chatglmd::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_port();
// True once something accepts TCP connections on 127.0.0.1:port.
bool port_open(int port);
// Plain HTTP/1.1 over a socket, for tests that need to see exact bytes: sends `raw` as given,
// reads until the peer closes or the timeout, returns what came back.
std::string raw_http(int port, const std::string& raw, int timeout_ms = 5000);

}  // namespace chatglmd::testing
