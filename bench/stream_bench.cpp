// Streams: what one open chat stream costs the daemon in memory, and how much the relay adds to
// the time until the first token reaches the client. Baselines measured in the same run: the
// daemon's memory with no stream open, and the first-token time asking chatglmd-sim directly.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "llm/zhipu_token.hpp"
#include "support/daemon_harness.hpp"

using namespace chatglmd::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kStreams = 1000;

long rss_kb(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  throw std::runtime_error("no VmRSS");
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect");
  return fd;
}

std::string chat_request(int port, const std::string& path, const std::string& auth,
                         const std::string& body) {
  return fmt::format(
      "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {}\r\nContent-Type: "
      "application/json\r\n"
      "Content-Length: {}\r\n\r\n{}",
      path, port, auth, body.size(), body);
}

// Sends the request and waits for the first body bytes; returns the socket (kept open).
int open_stream(int port, const std::string& request, double* first_byte_ms) {
  int fd = connect_to(port);
  auto start = Clock::now();
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    throw std::runtime_error("send");
  std::string got;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) throw std::runtime_error("no answer within 10 s");
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error("closed: " + got);
    got.append(buf, static_cast<std::size_t>(n));
    auto head = got.find("\r\n\r\n");
    if (head != std::string::npos && got.size() > head + 4) break;
  }
  if (first_byte_ms)
    *first_byte_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return fd;
}

// Waits until every socket has the response head and some body.
void wait_for_first_bytes(const std::vector<int>& fds) {
  std::vector<std::string> got(fds.size());
  std::vector<bool> ready(fds.size(), false);
  std::size_t left = fds.size();
  char buf[4096];
  auto deadline = Clock::now() + std::chrono::seconds(60);
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
      std::size_t i = index[k];
      ssize_t n = ::recv(fds[i], buf, sizeof buf, 0);
      if (n <= 0) throw std::runtime_error("a stream closed early: " + got[i]);
      got[i].append(buf, static_cast<std::size_t>(n));
      auto head = got[i].find("\r\n\r\n");
      if (head != std::string::npos && got[i].size() > head + 4) {
        ready[i] = true;
        --left;
      }
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  spdlog::set_level(spdlog::level::warn);
  // A slow upstream keeps every stream open while we measure: one chunk every 5 s.
  DaemonOptions options;
  options.sim_args = {"--chunk-delay-ms", "5000", "--threads", "2"};
  options.config = {{"log.level", "warn"}, {"http.threads", "2"}};
  DaemonHarness d(options);
  if (d.cli({"user", "add", "bench", "--quota", "100000", "--models", "glm-4"}).exit_code != 0)
    throw std::runtime_error("user add failed");
  const std::string token = "Bearer " + d.token_for("bench");
  const std::string body = R"({"model":"glm-4","messages":[{"role":"user","content":"hi"}]})";
  const std::string via_daemon =
      chat_request(d.port(), "/api/v1/chatgpt/chat/completions", token, body);
  const std::string glm_body =
      R"({"model":"glm-4","stream":true,"messages":[{"role":"user","content":"hi"}]})";

  // First-token time: relay vs the simulator directly (fast upstream for this part).
  http_request(d.sim().port(), "POST", "/sim/glm/config", R"({"chunk_delay_ms":0})",
               {{"Content-Type", "application/json"}});
  std::vector<double> relay, direct;
  for (int i = 0; i < 50; ++i) {
    double ms = 0;
    ::close(open_stream(d.port(), via_daemon, &ms));
    relay.push_back(ms);
  }
  auto key = chatglmd::llm::ZhipuApiKey::parse(SimProcess::kGlmApiKey);
  chatglmd::core::SystemClock wall;
  const std::string glm_auth =
      "Bearer " + chatglmd::llm::make_zhipu_token(*key, wall.now(), std::chrono::minutes(30));
  const std::string to_sim =
      chat_request(d.sim().port(), "/api/paas/v4/chat/completions", glm_auth, glm_body);
  for (int i = 0; i < 50; ++i) {
    double ms = 0;
    ::close(open_stream(d.sim().port(), to_sim, &ms));
    direct.push_back(ms);
  }
  http_request(d.sim().port(), "POST", "/sim/glm/config", R"({"chunk_delay_ms":5000})",
               {{"Content-Type", "application/json"}});

  long before = rss_kb(d.pid());
  std::vector<int> open;
  auto start = Clock::now();
  // Send every request first: the slow upstream answers each one 5 s later, all at once.
  for (int i = 0; i < kStreams; ++i) {
    int fd = connect_to(d.port());
    if (::send(fd, via_daemon.data(), via_daemon.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(via_daemon.size()))
      throw std::runtime_error("send");
    open.push_back(fd);
  }
  wait_for_first_bytes(open);
  double open_s = std::chrono::duration<double>(Clock::now() - start).count();
  long during = rss_kb(d.pid());
  for (int fd : open) ::close(fd);

  double per_stream_kb = static_cast<double>(during - before) / kStreams;
  fmt::print("chat streams through chatglmd (upstream chatglmd-sim)\n");
  fmt::print(
      "  first token, median of 50: {:.2f} ms through the daemon, {:.2f} ms from the simulator "
      "directly"
      " ({:.2f} ms added by auth, quota and relay)\n",
      median(relay), median(direct), median(relay) - median(direct));
  fmt::print("  daemon RSS: {} KiB idle, {} KiB with {} open streams ({:.1f} s to open them)\n",
             before, during, kStreams, open_s);
  fmt::print("  memory per open stream: {:.1f} KiB ({:.4f} of one MiB)\n", per_stream_kb,
             per_stream_kb / 1024.0);
  return 0;
}
