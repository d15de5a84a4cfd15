// The soak (`make soak`, not in CI): SOAK_MINUTES (default 30) of mixed load against a real
// `chatglmd serve` and chatglmd-sim: WeChat logins, orders paid and left unpaid, duplicate
// notifies, chats on both paths with cancels and upstream faults, reads, `words add` + SIGHUP,
// and the jobs ticking every few seconds. Every 10 s it samples the daemon's RSS, open files,
// threads, WAL size and the window's latency into SOAK_OUT/soak.csv. It fails when RSS or open
// files grow after the warm-up (linear fit), when a request errs outside the faults it injected,
// or when the books do not balance once the load stops.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "daemon/daemon_client.hpp"
#include "daemon/wechat_portal.hpp"
#include "soak/soak_load.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using soak::Ledger;
using soak::Sample;

constexpr int kWorkers = 4;
constexpr int kUsersPerWorker = 3;
constexpr const char* kProduct = "2001";
constexpr std::int64_t kProductQuota = 20;

double env_number(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stod(v) : fallback;
}

std::string env_text(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// A field of /proc/<pid>/status ("VmRSS:  1234 kB" -> 1234).
std::int64_t proc_status(pid_t pid, const std::string& field) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return 0;
}

std::int64_t open_files(pid_t pid) {
  std::error_code ec;
  std::int64_t n = 0;
  for (auto it = std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

std::int64_t file_kib(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(n / 1024);
}

std::string query_value(const std::string& url, const std::string& key) {
  auto at = url.find(key + "=");
  if (at == std::string::npos) return {};
  at += key.size() + 1;
  return url.substr(at, url.find('&', at) - at);
}

struct User {
  std::string openid, token;
};

class Load {
 public:
  Load(DaemonHarness& d, Ledger& ledger) : d_(d), ledger_(ledger) {}

  template <class F>
  auto timed(bool chat, F&& f) {
    const auto start = Clock::now();
    auto r = f();
    ledger_.latency(chat, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    return r;
  }

  // The WeChat way: a text message to the portal gives a code, the code buys a token.
  std::string login(const std::string& openid) {
    const auto nonce = fmt::format("soak{}", nonce_++);
    auto reply = timed(false, [&] {
      return d_.request("POST", kPortal + "?" + fresh_query(nonce), text_message(openid, "登录"),
                        {{"Content-Type", "text/xml"}});
    });
    const auto code = code_in(reply.body);
    if (reply.status != 200 || code.empty()) {
      ledger_.unexpected("portal: " + reply.raw.substr(0, 300));
      return {};
    }
    auto answer =
        timed(false, [&] { return d_.request("POST", "/api/v1/auth/login", "code=" + code); });
    if (envelope_code(answer) != "0000") {
      ledger_.unexpected("login: " + answer.raw.substr(0, 300));
      return {};
    }
    ledger_.count("logins");
    return std::string(boost::json::parse(answer.body).at("data").as_string());
  }

  void buy(const User& u, bool pay) {
    auto r = timed(false, [&] {
      return d_.post_form("/api/v1/sale/create_pay_order", std::string("productId=") + kProduct,
                          u.token);
    });
    if (envelope_code(r) != "0000")
      return ledger_.unexpected("create_pay_order: " + r.raw.substr(0, 300));
    const std::string url(boost::json::parse(r.body).at("data").as_string());
    const auto order_id = query_value(url, "out_trade_no");
    if (order_id.empty()) return ledger_.unexpected("no out_trade_no in " + url);
    if (!pay) {
      ledger_.unpaid(order_id);
      ledger_.count("orders_unpaid");
      return;
    }
    // The buyer scans the QR code (the sim shows the trade from then on), then pays.
    auto scanned = http_request(d_.sim().port(), "GET", url.substr(url.find("/sim/")));
    if (scanned.status != 200) return ledger_.unexpected("sim scan: " + scanned.raw.substr(0, 300));
    auto paid = http_request(d_.sim().port(), "POST", "/sim/alipay/pay",
                             fmt::format(R"({{"out_trade_no":"{}"}})", order_id),
                             {{"Content-Type", "application/json"}});
    if (paid.status != 200) return ledger_.unexpected("sim pay: " + paid.raw.substr(0, 300));
    ledger_.paid(order_id);
    ledger_.count("orders_paid");
  }

  // Alipay sends a notify again (it does so until it reads `success`, and sometimes after).
  void duplicate_notify() {
    for (const auto& id : ledger_.some_paid(1)) {
      auto r = http_request(d_.sim().port(), "POST", "/sim/alipay/notify",
                            fmt::format(R"({{"out_trade_no":"{}"}})", id),
                            {{"Content-Type", "application/json"}});
      if (r.status != 200) return ledger_.unexpected("sim notify: " + r.raw.substr(0, 300));
      ledger_.count("duplicate_notifies");
    }
  }

  void read(const User& u, int which) {
    HttpReply r;
    switch (which % 4) {
      case 0:
        r = timed(false,
                  [&] { return d_.post_form("/api/v1/account/query_account_quota", "", u.token); });
        if (envelope_code(r) != "0000") ledger_.unexpected("quota: " + r.raw.substr(0, 300));
        break;
      case 1:
        r = timed(false, [&] { return d_.request("GET", "/api/v1/sale/query_product_list"); });
        if (envelope_code(r) != "0000") ledger_.unexpected("products: " + r.raw.substr(0, 300));
        break;
      case 2:
        r = timed(false, [&] {
          return d_.request("GET", "/v1/models", "", {{"Authorization", "Bearer " + u.token}});
        });
        if (r.status != 200) ledger_.unexpected("models: " + r.raw.substr(0, 300));
        break;
      default:
        r = timed(false, [&] { return d_.request("GET", "/readyz"); });
        if (r.status != 200) ledger_.unexpected("readyz: " + r.raw.substr(0, 300));
    }
    ledger_.count("reads");
  }

  // One chat; `fault` is queued at the sim first ("" none). The answer decides whether the user
  // paid for it: a stream that started costs one chat, a refusal or a failure before the first
  // token costs nothing (DESIGN.md, chat pipeline).
  void chat_once(const User& u, int path, const std::string& fault) {
    if (!fault.empty()) {
      glm_fault(d_.sim(), fault);
      ledger_.count("faults_" + fault);
    }
    const std::string auth = "Bearer " + u.token;
    if (path == 0) {
      auto r =
          timed(true, [&] { return chat(d_, kOriginalChat, auth, chat_json("glm-4", "len:120")); });
      const auto code = envelope_code(r);
      if (r.status == 200 && code.empty() && !r.body.empty())
        return charged(u, utf8_length(r.body) == 120);
      if (code == "0006") return ledger_.count("chats_no_quota");
      if (code == "0009") return ledger_.count("chats_upstream_failed");
      return ledger_.unexpected("chat: " + r.raw.substr(0, 300));
    }
    auto r = timed(true, [&] {
      return chat(d_, kOpenAiChat, auth, chat_json("glm-4", "len:120", R"("stream":true)"));
    });
    if (r.status == 200) {
      auto s = parse_openai_stream(r.body);
      if (!s.done) return ledger_.unexpected("stream without [DONE]: " + r.raw.substr(0, 300));
      return charged(u, s.finish_reason == "stop" && utf8_length(s.text) == 120);
    }
    const auto code = openai_error_code(r);
    if (r.status == 429 && code == "insufficient_quota") return ledger_.count("chats_no_quota");
    if (r.status == 502) return ledger_.count("chats_upstream_failed");
    ledger_.unexpected("v1 chat: " + r.raw.substr(0, 300));
  }

  // A reader who leaves after the first bytes of the answer: charged, since the stream started.
  void chat_cancelled(const User& u) {
    const std::string body = chat_json("glm-4", "len:400");
    const auto start = Clock::now();
    RawClient c(d_.port());
    c.send("POST " + kOriginalChat + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + u.token +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
    bool started = c.read_until(
        [](const std::string& got) {
          auto head = got.find("\r\n\r\n");
          return head != std::string::npos && got.size() > head + 4;
        },
        10s);
    const auto& got = c.received();
    c.close();
    ledger_.latency(true, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (started && status_of(got) == 200 && got.find("text/event-stream") != std::string::npos) {
      ledger_.count("chats_cancelled");
      ledger_.charged(u.openid);
      return;
    }
    if (got.find("\"0006\"") != std::string::npos) return ledger_.count("chats_no_quota");
    if (got.find("\"0009\"") != std::string::npos) return ledger_.count("chats_upstream_failed");
    ledger_.unexpected("cancelled chat: " + got.substr(0, 300));
  }

 private:
  void charged(const User& u, bool whole) {
    ledger_.charged(u.openid);
    ledger_.count(whole ? "chats_ok" : "chats_cut_short");
  }

  DaemonHarness& d_;
  Ledger& ledger_;
  std::atomic<int> nonce_{0};
};

// Violations of the books once the load has stopped and the jobs have settled; empty when they
// balance.
std::vector<std::string> books(DaemonHarness& d, const Ledger& ledger) {
  std::vector<std::string> bad;
  std::map<std::string, std::string> status, owner;
  for (const auto& row :
       sql_rows(d.db(), "SELECT order_id, openid, order_status FROM openai_order")) {
    owner[row[0]] = row[1];
    status[row[0]] = row[2];
  }
  std::map<std::string, std::int64_t> deliveries;
  for (const auto& row : sql_rows(d.db(),
                                  "SELECT order_id, count(*) FROM order_event WHERE to_status = 2 "
                                  "GROUP BY order_id"))
    deliveries[row[0]] = std::stoll(row[1]);
  std::map<std::string, std::int64_t> delivered_quota;
  for (const auto& [id, s] : status) {
    if (deliveries[id] > 1)
      bad.push_back(id + ": delivered " + std::to_string(deliveries[id]) + " times");
    if (s == "2") delivered_quota[owner[id]] += kProductQuota;
  }
  for (const auto& id : ledger.paid_orders())
    if (status[id] != "2" || deliveries[id] != 1)
      bad.push_back(id + ": paid but status " + status[id]);
  for (const auto& id : ledger.unpaid_orders())
    if (status[id] != "0" && status[id] != "3")
      bad.push_back(id + ": unpaid but status " + status[id]);
  const auto charged = ledger.charged_by_user();
  for (const auto& row :
       sql_rows(d.db(), "SELECT openid, total_quota, surplus_quota FROM user_account")) {
    const auto total = std::stoll(row[1]), surplus = std::stoll(row[2]);
    const auto it = charged.find(row[0]);
    const std::int64_t spent = it == charged.end() ? 0 : it->second;
    if (total != delivered_quota[row[0]] || surplus != total - spent)
      bad.push_back(fmt::format("{}: total {} surplus {}, but delivered {} and charged {}", row[0],
                                total, surplus, delivered_quota[row[0]], spent));
  }
  return bad;
}

TEST(Soak, MixedLoadKeepsResourcesFlatAndTheBooksBalanced) {
  const double minutes = env_number("SOAK_MINUTES", 30);
  // Operations per second per worker thread (4 workers).
  const double ops_per_second = env_number("SOAK_RATE", 10);
  const std::string out = env_text("SOAK_OUT", std::string(CHATGLMD_BUILD_DIR) + "/soak");
  std::filesystem::create_directories(out);
  const auto run_for = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::ratio<60>>(minutes));
  // Memory settles once the allocator's arenas, SQLite's page cache and the connection pools
  // have grown to the load: the fit starts after 20% of the run (at least one minute).
  const double warmup_s = std::max(60.0, minutes * 60 * 0.2);

  DaemonOptions o;
  o.start = false;
  o.config["alipay.mode"] = "precreate";
  for (const char* job :
       {"timeout-close", "replenish-shipment", "reconcile", "close-followup", "refund-query"})
    o.config[fmt::format("jobs.{}.interval", job)] = "5s";
  o.config["jobs.timeout-close.after"] = "2m";
  o.config["jobs.reconcile.after"] = "20s";
  o.config["jobs.replenish-shipment.after"] = "20s";
  DaemonHarness d(o);
  run_ok(d, {"product", "add", "--id", kProduct, "--name", "soak", "--price", "0.10", "--quota",
             std::to_string(kProductQuota), "--models", "glm-4,glm-3-turbo"});
  d.start();
  sim_call(d.sim(), "POST", "/sim/glm/config", R"({"chunk_delay_ms":2,"piece_chars":8})");

  Ledger ledger;
  Load load(d, ledger);
  std::atomic<bool> stop{false};
  const auto deadline = Clock::now() + run_for;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(1000 + w);
      std::vector<User> users;
      for (int i = 0; i < kUsersPerWorker; ++i) {
        User u{fmt::format("oSoak-{}-{}", w, i), ""};
        u.token = load.login(u.openid);
        users.push_back(u);
      }
      // Paced, so the soak measures a steady load rather than how fast 2 shared cores spin.
      const auto period = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(1.0 / ops_per_second));
      auto slot = Clock::now();
      while (!stop && Clock::now() < deadline) {
        slot += period;
        std::this_thread::sleep_until(slot);
        User& u = users[rng() % users.size()];
        if (u.token.empty()) {
          u.token = load.login(u.openid);
          continue;
        }
        const int dice = static_cast<int>(rng() % 100);
        if (dice < 40) {
          load.chat_once(u, static_cast<int>(rng() % 2), "");
        } else if (dice < 44) {
          load.chat_cancelled(u);
        } else if (dice < 46) {
          load.chat_once(u, static_cast<int>(rng() % 2), "http_500");
        } else if (dice < 48) {
          load.chat_once(u, static_cast<int>(rng() % 2), "mid_stream_error");
        } else if (dice < 58) {
          load.buy(u, rng() % 4 != 0);
        } else if (dice < 61) {
          load.duplicate_notify();
        } else if (dice < 64) {
          auto token = load.login(u.openid);
          if (!token.empty()) u.token = token;
        } else {
          load.read(u, static_cast<int>(rng()));
        }
      }
    });
  }
  // The operator: a word now and then, and SIGHUP to load it at once.
  threads.emplace_back([&] {
    int n = 0;
    while (!stop && Clock::now() < deadline) {
      for (int i = 0; i < 450 && !stop && Clock::now() < deadline; ++i)
        std::this_thread::sleep_for(100ms);
      if (stop || Clock::now() >= deadline) break;
      auto r = d.cli({"words", "add", fmt::format("soakword{}", n++)});
      if (r.exit_code != 0) ledger.unexpected("words add: " + r.err);
      d.signal(SIGHUP);
      ledger.count("words_added_and_sighup");
    }
  });

  std::vector<Sample> samples;
  std::ofstream csv(out + "/soak.csv");
  csv << "t_s,rss_kib,open_files,threads,wal_kib,requests,req_p50_ms,req_p99_ms,chat_p50_ms,"
         "chat_p99_ms,unexpected\n";
  const auto started = Clock::now();
  auto next = started + 10s;
  while (Clock::now() < deadline) {
    std::this_thread::sleep_until(std::min(next, deadline));  // the sampling period itself
    if (Clock::now() < next) break;
    next += 10s;
    Sample s;
    s.t_s = std::chrono::duration<double>(Clock::now() - started).count();
    s.rss_kib = proc_status(d.pid(), "VmRSS");
    s.threads = proc_status(d.pid(), "Threads");
    s.fds = open_files(d.pid());
    s.wal_kib = file_kib(d.db() + "-wal");
    std::vector<double> req, chat;
    s.requests = ledger.take_window(req, chat);
    s.req_p50_ms = soak::percentile(req, 50);
    s.req_p99_ms = soak::percentile(req, 99);
    s.chat_p50_ms = soak::percentile(chat, 50);
    s.chat_p99_ms = soak::percentile(chat, 99);
    s.unexpected = ledger.unexpected_count();
    samples.push_back(s);
    csv << fmt::format("{:.1f},{},{},{},{},{},{:.2f},{:.2f},{:.2f},{:.2f},{}\n", s.t_s, s.rss_kib,
                       s.fds, s.threads, s.wal_kib, s.requests, s.req_p50_ms, s.req_p99_ms,
                       s.chat_p50_ms, s.chat_p99_ms, s.unexpected)
        << std::flush;
    std::cout << fmt::format(
                     "soak t={:.0f}s rss={}KiB fds={} threads={} wal={}KiB req={} p99={:.1f}ms "
                     "unexpected={}\n",
                     s.t_s, s.rss_kib, s.fds, s.threads, s.wal_kib, s.requests, s.req_p99_ms,
                     s.unexpected)
              << std::flush;
  }
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(d.running()) << d.log();

  // Resources after the warm-up: a line through the samples may rise by no more than the noise.
  std::vector<double> t, rss, fds;
  for (const auto& s : samples)
    if (s.t_s >= warmup_s) {
      t.push_back(s.t_s);
      rss.push_back(static_cast<double>(s.rss_kib));
      fds.push_back(static_cast<double>(s.fds));
    }
  ASSERT_GE(t.size(), 3u) << "too short a run to fit a line after the warm-up";
  const double span = t.back() - t.front();
  double rss_mean = 0;
  for (double v : rss) rss_mean += v;
  rss_mean /= rss.size();
  const auto rss_line = soak::fit_line(t, rss), fd_line = soak::fit_line(t, fds);
  const double rss_growth = rss_line.slope * span, fd_growth = fd_line.slope * span;
  // Allocator arenas and SQLite's page cache move by a few MiB under load; a leak of 100 bytes a
  // request at the soak's rate grows past this within the run.
  const double rss_allowed = std::max(4096.0, 0.10 * rss_mean);
  // A sample counts the sockets open at that moment: one per worker, the sim's notifies, and up
  // to 16 gateway connections while a job tick runs, so single samples swing by 20. Over the
  // samples after the warm-up the fitted rise has a standard error of 2 to 3; a leak of one file
  // per thousand requests rises by tens.
  const double fd_allowed = 8;

  // The books, once the jobs have delivered whatever a lost notify left behind.
  std::vector<std::string> bad;
  const bool balanced = eventually([&] { return (bad = books(d, ledger)).empty(); }, 90s);

  std::ofstream summary(out + "/soak-summary.txt");
  auto say = [&](const std::string& line) {
    summary << line << "\n";
    std::cout << line << "\n";
  };
  const auto& first = samples.front();
  const auto& last = samples.back();
  std::vector<double> all_p50, all_p99;
  std::int64_t requests = 0;
  for (const auto& s : samples) {
    requests += s.requests;
    all_p50.push_back(s.req_p50_ms);
    all_p99.push_back(s.req_p99_ms);
  }
  say(fmt::format("minutes {:.1f}, samples {}, warm-up {:.0f}s", minutes, samples.size(),
                  warmup_s));
  say(
      fmt::format("rss KiB first {} last {}; fit after warm-up {:+.2f} KiB/min ({:+.0f} KiB over "
                  "{:.0f}s, allowed {:.0f})",
                  first.rss_kib, last.rss_kib, rss_line.slope * 60, rss_growth, span, rss_allowed));
  say(fmt::format(
      "open files first {} last {}; fit {:+.3f}/min ({:+.2f} over the window, allowed {:.0f})",
      first.fds, last.fds, fd_line.slope * 60, fd_growth, fd_allowed));
  say(fmt::format("threads first {} last {}; wal KiB first {} last {}", first.threads, last.threads,
                  first.wal_kib, last.wal_kib));
  say(fmt::format(
      "requests {} ({:.1f}/s); median of the windows' p50 {:.2f} ms, worst window p99 {:.2f} ms",
      requests, requests / std::max(1.0, last.t_s), soak::percentile(all_p50, 50),
      soak::percentile(all_p99, 100)));
  for (const auto& [k, v] : ledger.counts()) say(fmt::format("  {} {}", k, v));
  say(fmt::format("unexpected answers {}", ledger.unexpected_count()));
  for (const auto& e : ledger.unexpected_examples()) say("  " + e);
  say(fmt::format("books {}", balanced ? "balance" : "DO NOT balance"));
  for (std::size_t i = 0; i < bad.size() && i < 20; ++i) say("  " + bad[i]);

  EXPECT_LE(rss_growth, rss_allowed);
  EXPECT_LE(fd_growth, fd_allowed);
  EXPECT_EQ(ledger.unexpected_count(), 0);
  const auto counts = ledger.counts();
  auto count_of = [&](const std::string& k) {
    auto it = counts.find(k);
    return it == counts.end() ? 0 : it->second;
  };
  // Failures the load did not provoke: more failed or cut-short chats than faults it queued.
  EXPECT_LE(count_of("chats_upstream_failed"), count_of("faults_http_500"));
  EXPECT_LE(count_of("chats_cut_short"), count_of("faults_mid_stream_error"));
  EXPECT_TRUE(balanced);
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

}  // namespace
}  // namespace chatglmd::testing
