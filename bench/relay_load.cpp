// Per-token latency through a relay (chatglmd, nginx, or none: straight to chatglmd-sim): K chat
// streams started evenly over SPREAD_MS, each token stamped by the simulator with its send time
// ("T<16 digits of steady-clock microseconds>|", /sim/glm/config stamp). Prints one line:
//   ttft_p50_ms latency_p50_ms latency_p99_ms tokens relay_cpu_pct
// where the latencies count only tokens received after every stream had its first token, during
// WINDOW_S seconds, and relay CPU is the RELAY_PID's user+system time over that window (0 for
// none). Opens 2 descriptors per stream on the relay: raise RLIMIT_NOFILE for K in thousands.
// With RELAY_LOAD_TAIL set it also prints the steady latency's p90, p99, p99.9 and max to stderr,
// to tell a slow relay from a few stalls.
//
//   bench_relay_load PORT PATH AUTH BODY K SPREAD_MS WINDOW_S RELAY_PID
//   AUTH "zhipu:<id>.<secret>" is replaced by a ChatGLM token made from that key.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/time.hpp"
#include "llm/zhipu_token.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

// User + system CPU seconds of a process so far.
double cpu_seconds(int pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
    if (i == 15) break;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Stream {
  int fd = -1;
  std::int64_t sent_us = 0;
  std::int64_t first_us = 0;
  std::string pending;  // bytes after the last complete stamp
  bool failed = false;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::cerr << "usage: bench_relay_load PORT PATH AUTH BODY K SPREAD_MS WINDOW_S RELAY_PID\n";
    return 2;
  }
  try {
    const int port = std::stoi(argv[1]);
    const std::string path = argv[2], body = argv[4];
    std::string auth = argv[3];
    const int k = std::stoi(argv[5]), spread_ms = std::stoi(argv[6]);
    const double window_s = std::stod(argv[7]);
    const int relay_pid = std::stoi(argv[8]);
    if (auth.rfind("zhipu:", 0) == 0) {
      auto key = chatglmd::llm::ZhipuApiKey::parse(auth.substr(6));
      if (!key) throw std::runtime_error("bad zhipu key");
      chatglmd::core::SystemClock wall;
      auth = "Bearer " + chatglmd::llm::make_zhipu_token(*key, wall.now(), std::chrono::hours(2));
    }
    const std::string request = fmt::format(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {}\r\nContent-Type: "
        "application/json\r\nContent-Length: {}\r\n\r\n{}",
        path, port, auth, body.size(), body);

    const int ep = epoll_create1(0);
    std::vector<Stream> streams(static_cast<std::size_t>(k));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    std::vector<double> ttft_ms, latency_ms;
    int started = 0, first_tokens = 0;
    std::int64_t steady_from = 0, steady_until = 0;
    double cpu_start = 0;
    const std::int64_t t0 = now_us();
    std::vector<epoll_event> events(1024);
    char buf[65536];
    auto handle = [&](Stream& s) {
      for (;;) {
        const ssize_t n = ::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) {
          s.failed = true;
          epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
          return;
        }
        const std::int64_t at = now_us();
        s.pending.append(buf, static_cast<std::size_t>(n));
        std::size_t pos = 0;
        for (std::size_t t; (t = s.pending.find('T', pos)) != std::string::npos;) {
          if (s.pending.size() < t + 18) break;  // T + 16 digits + '|'
          pos = t + 1;
          if (s.pending[t + 17] != '|') continue;
          const std::string digits = s.pending.substr(t + 1, 16);
          if (!std::all_of(digits.begin(), digits.end(),
                           [](char c) { return c >= '0' && c <= '9'; }))
            continue;
          pos = t + 18;
          if (s.first_us == 0) {
            s.first_us = at;
            ttft_ms.push_back(static_cast<double>(at - s.sent_us) / 1000.0);
            ++first_tokens;
          } else if (steady_from != 0 && at >= steady_from && at < steady_until) {
            latency_ms.push_back(static_cast<double>(at - std::stoll(digits)) / 1000.0);
          }
        }
        s.pending.erase(0, std::min(pos, s.pending.size() > 17 ? s.pending.size() - 17 : 0));
      }
    };
    for (;;) {
      const std::int64_t now = now_us();
      // Start the streams due by now (evenly over SPREAD_MS).
      while (started < k && now - t0 >= static_cast<std::int64_t>(started) * spread_ms * 1000 / k) {
        Stream& s = streams[static_cast<std::size_t>(started++)];
        s.fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (s.fd < 0 || ::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
          throw std::runtime_error("connect failed (RLIMIT_NOFILE too low?)");
        s.sent_us = now_us();
        if (::send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size()))
          throw std::runtime_error("send failed");
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = static_cast<std::uint64_t>(started - 1);
        epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
      }
      if (steady_from == 0 && first_tokens == k) {
        steady_from = now_us();
        steady_until = steady_from + static_cast<std::int64_t>(window_s * 1e6);
        if (relay_pid > 0) cpu_start = cpu_seconds(relay_pid);
      }
      if (steady_from != 0 && now >= steady_until) break;
      if (now - t0 > 120'000'000) throw std::runtime_error("streams did not all start in 120 s");
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 5);
      for (int i = 0; i < n; ++i) handle(streams[events[static_cast<std::size_t>(i)].data.u64]);
    }
    const double cpu =
        relay_pid > 0 ? 100.0 * (cpu_seconds(relay_pid) - cpu_start) / window_s : 0.0;
    int failed = 0;
    for (auto& s : streams) {
      failed += s.failed;
      ::close(s.fd);
    }
    if (failed > 0) throw std::runtime_error(fmt::format("{} streams ended early", failed));
    if (latency_ms.empty()) throw std::runtime_error("no token arrived in the window");
    if (std::getenv("RELAY_LOAD_TAIL"))
      std::cerr << fmt::format("tail p90 {:.3f} p99 {:.3f} p99.9 {:.3f} max {:.3f}\n",
                               percentile(latency_ms, 0.9), percentile(latency_ms, 0.99),
                               percentile(latency_ms, 0.999), percentile(latency_ms, 1.0));
    std::cout << fmt::format("{:.2f} {:.2f} {:.2f} {} {:.1f}\n", percentile(ttft_ms, 0.5),
                             percentile(latency_ms, 0.5), percentile(latency_ms, 0.99),
                             latency_ms.size(), cpu);
  } catch (const std::exception& e) {
    std::cerr << "bench_relay_load: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
