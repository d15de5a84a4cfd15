// Memory per open stream of a relay (chatglmd or nginx): opens K chat streams through it to a
// slow upstream, waits until each has its head and first bytes, and reports the relay process's
// RSS growth divided by K (RSS with K open minus RSS idle).
//
//   bench_stream_hold PORT PATH AUTH BODY K RELAY_PID
//   AUTH "zhipu:<id>.<secret>" is replaced by a ChatGLM token made from that key.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "llm/zhipu_token.hpp"

namespace {

using Clock = std::chrono::steady_clock;

long rss_kb(int pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  throw std::runtime_error(fmt::format("no VmRSS for pid {}", pid));
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect failed (RLIMIT_NOFILE too low?)");
  return fd;
}

// Until every socket has the response head and some body.
void wait_for_first_bytes(const std::vector<int>& fds) {
  std::vector<std::string> got(fds.size());
  std::vector<bool> ready(fds.size(), false);
  std::size_t left = fds.size();
  char buf[4096];
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (left > 0) {
    if (Clock::now() > deadline)
      throw std::runtime_error(fmt::format("{} streams never answered", left));
    std::vector<pollfd> polls;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!ready[i]) {
        polls.push_back({fds[i], POLLIN, 0});
        index.push_back(i);
      }
    }
    if (::poll(polls.data(), polls.size(), 1000) <= 0) continue;
    for (std::size_t k = 0; k < polls.size(); ++k) {
      if (!(polls[k].revents & (POLLIN | POLLHUP))) continue;
      const std::size_t i = index[k];
      const ssize_t n = ::recv(fds[i], buf, sizeof buf, 0);
      if (n <= 0) throw std::runtime_error("a stream closed early: " + got[i]);
      got[i].append(buf, static_cast<std::size_t>(n));
      const auto head = got[i].find("\r\n\r\n");
      if (head != std::string::npos && got[i].size() > head + 4) {
        if (got[i].rfind("HTTP/1.1 200", 0) != 0)
          throw std::runtime_error("not a 200 answer: " + got[i].substr(0, 200));
        ready[i] = true;
        --left;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: bench_stream_hold PORT PATH AUTH BODY K RELAY_PID\n";
    return 2;
  }
  try {
    const int port = std::stoi(argv[1]);
    const std::string path = argv[2], body = argv[4];
    std::string auth = argv[3];
    const int k = std::stoi(argv[5]), pid = std::stoi(argv[6]);
    if (auth.rfind("zhipu:", 0) == 0) {
      auto key = chatglmd::llm::ZhipuApiKey::parse(auth.substr(6));
      if (!key) throw std::runtime_error("bad zhipu key");
      chatglmd::core::SystemClock wall;
      auth =
          "Bearer " + chatglmd::llm::make_zhipu_token(*key, wall.now(), std::chrono::minutes(30));
    }
    const std::string request = fmt::format(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {}\r\nContent-Type: "
        "application/json\r\nContent-Length: {}\r\n\r\n{}",
        path, port, auth, body.size(), body);
    const long idle = rss_kb(pid);
    std::vector<int> open;
    for (int i = 0; i < k; ++i) {
      const int fd = connect_to(port);
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size()))
        throw std::runtime_error("send failed");
      open.push_back(fd);
    }
    wait_for_first_bytes(open);
    const long busy = rss_kb(pid);
    for (const int fd : open) ::close(fd);
    std::cout << fmt::format("{:.1f}\n", static_cast<double>(busy - idle) / k);
  } catch (const std::exception& e) {
    std::cerr << "bench_stream_hold: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
