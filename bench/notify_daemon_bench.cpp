// Durable notifies through the real daemon: `chatglmd serve` (synchronous=FULL by default, jobs
// off) takes signed TRADE_SUCCESS notifies on POST /api/v1/sale/pay_notify from `--in-flight`
// keep-alive connections; every reply must be `success` and every order DELIVERED afterwards.
// Baseline in the same run, on the same disk: single-row FULL commits in a C loop (WAL, one
// INSERT per transaction), the rate a daemon that commits each notify alone could reach.
// Usage: bench_notify_daemon [--notifies N] [--in-flight C] [--runs R] [--synchronous S]
//                            [--perf-record FILE]
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/order_id.hpp"
#include "pay/alipay_notify.hpp"
#include "pay/rsa.hpp"
#include "store/sqlite_store.hpp"
#include "support/daemon_harness.hpp"

using namespace chatglmd;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int notifies = 4000;
  int in_flight = 64;
  int runs = 3;
  std::string synchronous = "FULL";
  std::string perf_record;  // a file: `perf record -g` the daemon while the load runs
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--notifies") {
      o.notifies = std::stoi(v);
    } else if (k == "--in-flight") {
      o.in_flight = std::stoi(v);
    } else if (k == "--runs") {
      o.runs = std::stoi(v);
    } else if (k == "--synchronous") {
      o.synchronous = v;
    } else if (k == "--perf-record") {
      o.perf_record = v;
    } else {
      throw std::runtime_error("unknown flag " + k);
    }
  }
  return o;
}

// Single-row commits in a loop: the disk's durable commit rate, as SQLite in WAL mode gets it.
double single_row_commit_rate(const std::string& path, const std::string& synchronous) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + path);
  std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + synchronous +
                        "; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);";
  sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (?1)", -1, &ins, nullptr);
  const int n = 2000;
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    sqlite3_bind_text(ins, 1, "a row of about the size of a notify's", -1, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
    sqlite3_reset(ins);
  }
  double rate = n / std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return rate;
}

std::vector<std::string> seed_orders(const std::string& db_path, int n) {
  auto opened = store::open_sqlite_store({db_path, "OFF", 10000, false});
  if (!opened.store) throw std::runtime_error("open store: " + opened.error);
  core::OrderIdGenerator gen(11);
  const core::UtcMs now{std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count()};
  std::vector<std::string> ids;
  opened.store->in_transaction([&] {
    for (int i = 0; i < n; ++i) {
      core::Order o;
      o.order_id = gen.next();
      o.openid = fmt::format("bench-{}", i % 500);
      o.product_id = 1;
      o.product_name = "100 chats";
      o.quota = 100;
      o.model_types = "glm-4";
      o.amount = core::Fen{999};
      o.order_time = now;
      opened.store->orders().insert(o, now);
      ids.push_back(o.order_id);
    }
  });
  return ids;
}

std::vector<std::string> signed_notifies(const std::vector<std::string>& ids) {
  auto signer = pay::RsaSigner::from_text(testing::read_file(testing::fixture("ali_pkcs1.pem")));
  if (!signer) throw std::runtime_error("no test Alipay key");
  std::vector<std::string> bodies(ids.size());
  std::vector<std::thread> threads;
  const unsigned n = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < ids.size(); i += n) {
        pay::Params p = {{"notify_time", "2024-01-02 03:04:16"},
                         {"notify_type", "trade_status_sync"},
                         {"notify_id", fmt::format("bench{:08d}", i)},
                         {"app_id", testing::DaemonHarness::kAppId},
                         {"charset", "utf-8"},
                         {"version", "1.0"},
                         {"trade_no", fmt::format("20240102220014468805{:08d}", i)},
                         {"out_trade_no", ids[i]},
                         {"buyer_id", "2088102177846880"},
                         {"seller_id", testing::DaemonHarness::kSellerId},
                         {"trade_status", "TRADE_SUCCESS"},
                         {"total_amount", "9.99"},
                         {"receipt_amount", "9.99"},
                         {"subject", "100 chats"},
                         {"gmt_create", "2024-01-02 03:04:10"},
                         {"gmt_payment", "2024-01-02 03:04:15"}};
        bodies[i] = pay::sign_notify_body(p, *signer);
      }
    });
  }
  for (auto& t : threads) t.join();
  return bodies;
}

// One keep-alive connection that sends a request and reads its whole answer.
class Connection {
 public:
  explicit Connection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("connect failed");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The body of the answer to one POST.
  std::string post(int port, const std::string& body) {
    std::string req = fmt::format(
        "POST /api/v1/sale/pay_notify HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: "
        "application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: {}\r\n\r\n{}",
        port, body.size(), body);
    for (std::size_t off = 0; off < req.size();) {
      auto n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      off += static_cast<std::size_t>(n);
    }
    for (;;) {
      auto head_end = buf_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        auto cl = buf_.find("Content-Length: ");
        if (cl == std::string::npos || cl > head_end) cl = buf_.find("content-length: ");
        if (cl == std::string::npos || cl > head_end) throw std::runtime_error("no Content-Length");
        std::size_t len = std::stoul(buf_.substr(cl + 16));
        if (buf_.size() >= head_end + 4 + len) {
          std::string out = buf_.substr(head_end + 4, len);
          buf_.erase(0, head_end + 4 + len);
          return out;
        }
      }
      char tmp[4096];
      auto n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) throw std::runtime_error("connection closed");
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

struct RunResult {
  double rate = 0;
  int failed = 0;
  int delivered = 0;
  double cpu_us = 0;        // daemon CPU (user + system) per notify
  double committer_us = 0;  // of which on the group-commit thread
};

// utime + stime of a /proc stat file, in seconds (fields 14 and 15, after the command name).
double cpu_seconds(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i)
    if (i >= 14) ticks += std::stod(f);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The CPU seconds of the daemon, and of its thread named `thread` (0 when it has none).
std::pair<double, double> daemon_cpu(pid_t pid, const std::string& thread) {
  const std::string proc = "/proc/" + std::to_string(pid);
  double of_thread = 0;
  for (const auto& t : std::filesystem::directory_iterator(proc + "/task")) {
    std::ifstream comm(t.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == thread) of_thread += cpu_seconds((t.path() / "stat").string());
  }
  return {cpu_seconds(proc + "/stat"), of_thread};
}

RunResult one_run(const Options& o) {
  testing::DaemonOptions d;
  d.start = false;
  d.config["store.synchronous"] = o.synchronous;
  for (const char* job :
       {"timeout-close", "reconcile", "replenish-shipment", "close-followup", "refund-query"})
    d.config[fmt::format("jobs.{}.enabled", job)] = "false";
  testing::DaemonHarness daemon(d);
  auto ids = seed_orders(daemon.db(), o.notifies);
  auto bodies = signed_notifies(ids);
  daemon.start();
  std::unique_ptr<testing::BackgroundProcess> perf;
  if (!o.perf_record.empty())
    perf = std::make_unique<testing::BackgroundProcess>(
        std::vector<std::string>{"/usr/bin/perf", "record", "-g", "-F", "1999", "-o", o.perf_record,
                                 "-p", std::to_string(daemon.pid())},
        o.perf_record + ".log");

  std::atomic<int> next{0}, failed{0};
  const auto cpu_before = daemon_cpu(daemon.pid(), "group-commit");
  auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < o.in_flight; ++c) {
    clients.emplace_back([&] {
      Connection conn(daemon.port());
      for (int i; (i = next++) < o.notifies;)
        if (conn.post(daemon.port(), bodies[static_cast<std::size_t>(i)]) != "success") ++failed;
    });
  }
  for (auto& t : clients) t.join();
  RunResult r;
  r.rate = o.notifies / std::chrono::duration<double>(Clock::now() - start).count();
  const auto cpu_after = daemon_cpu(daemon.pid(), "group-commit");
  r.cpu_us = (cpu_after.first - cpu_before.first) * 1e6 / o.notifies;
  r.committer_us = (cpu_after.second - cpu_before.second) * 1e6 / o.notifies;
  r.failed = failed;
  if (perf) {
    perf->signal(SIGINT);
    perf->wait(std::chrono::seconds(30));
  }
  daemon.terminate();
  auto opened = store::open_sqlite_store({daemon.db(), "NORMAL", 10000, false});
  for (const auto& id : ids)
    r.delivered += opened.store->orders().get(id)->state == core::OrderState::Delivered;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  Options o = parse(argc, argv);
  testing::TempDir dir;
  fmt::print("durable notifies through chatglmd serve, synchronous={}, {} notifies, {} in flight\n",
             o.synchronous, o.notifies, o.in_flight);
  bool ok = true;
  for (int run = 0; run < o.runs; ++run) {
    double commits = single_row_commit_rate(dir.file(fmt::format("loop{}.db", run)), "FULL");
    RunResult r = one_run(o);
    fmt::print(
        "  run {}: {:7.0f} notifies/s; single-row FULL commit loop {:7.0f} /s; ratio {:4.2f}x"
        "  ({} not success, {} of {} delivered); daemon CPU {:.0f} us/notify, {:.0f} of it on "
        "the group-commit thread\n",
        run + 1, r.rate, commits, r.rate / commits, r.failed, r.delivered, o.notifies, r.cpu_us,
        r.committer_us);
    ok = ok && r.failed == 0 && r.delivered == o.notifies;
  }
  return ok ? 0 : 1;
}
