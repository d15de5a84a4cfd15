#pragma once
// A blocking test client on a raw socket, for tests that must see the pieces of an answer as
// they arrive, keep connections open, or vanish mid-answer.
#include <string>

namespace chatglmd::http::testing {

class SocketClient {
 public:
  explicit SocketClient(int port);  // connects to 127.0.0.1:port; ok() tells whether it worked
  ~SocketClient();
  SocketClient(const SocketClient&) = delete;
  SocketClient& operator=(const SocketClient&) = delete;

  bool ok() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // Half-closes: the server reads end-of-stream after what was sent, and can still answer.
  void shutdown_send();
  // One recv() with a timeout: "" on timeout or close (closed() tells which).
  std::string read_some(int timeout_ms = 5000);
  // Reads until `needle` is in what was read since the last call (or timeout/close).
  std::string read_until(const std::string& needle, int timeout_ms = 5000);
  // Reads until the peer closes; returns everything read.
  std::string read_all(int timeout_ms = 5000);
  bool closed() const { return closed_; }
  // Closes with a reset (SO_LINGER 0), the way a browser tab that dies looks to the server.
  void reset();
  void close();

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string pending_;
};

// "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" -> body (no chunk decoding).
std::string body_of(const std::string& response);
// Decodes a chunked body ("5\r\nhello\r\n0\r\n\r\n" -> "hello").
std::string dechunk(const std::string& body);
int status_of(const std::string& response);

}  // namespace chatglmd::http::testing
