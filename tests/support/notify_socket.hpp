#pragma once
// systemd's notify socket, played by a test: a unix datagram socket that `serve` sends
// READY=1, WATCHDOG=1, STOPPING=1 ... to (NOTIFY_SOCKET). Any local user may send to it, so a
// daemon run as a service user can report too.
#include <chrono>
#include <string>

namespace chatglmd::testing {

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // Reads messages until one holds `line` as a whole line, or the limit passes.
  bool wait_for(const std::string& line, std::chrono::milliseconds limit);
  const std::string& seen() const { return seen_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string seen_;
};

}  // namespace chatglmd::testing
