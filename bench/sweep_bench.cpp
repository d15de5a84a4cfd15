// Sweep rate of timeout-close against chatglmd-sim with a fixed gateway latency: the design asks
// for close to the gateway-bound rate, in-flight requests / latency. Baseline in the same run:
// concurrency 1 (what a sequential sweeper gets), and the original project's 50 orders per
// 10-minute tick.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>
#include <variant>

#include "core/order_id.hpp"
#include "jobs/runner.hpp"
#include "jobs/timeout_close_job.hpp"
#include "net/http_client.hpp"
#include "pay/alipay_gateway.hpp"
#include "sim_process.hpp"
#include "store/sqlite_store.hpp"
#include "support/daemon_harness.hpp"
#include "support/temp_dir.hpp"

using namespace chatglmd;

namespace {

constexpr int kLatencyMs = 20;

struct Result {
  int orders;
  double seconds;
  double rate() const { return orders / seconds; }
};

Result sweep(testing::SimProcess& sim, pay::PaymentGateway& gateway, int concurrency, int orders) {
  testing::TempDir dir;
  auto opened = store::open_sqlite_store({dir.file("bench.db"), "NORMAL", 5000, true});
  auto& store = *opened.store;
  core::UtcMs t0{1'700'000'000'000};
  core::OrderIdGenerator ids(concurrency);
  for (int i = 0; i < orders; ++i) {
    core::Order o;
    o.order_id = ids.next();
    o.openid = "u";
    o.product_name = "p";
    o.quota = 1;
    o.amount = core::Fen{999};
    o.order_time = t0;
    store.orders().insert(o, t0);
  }
  core::ManualClock clock(t0 + std::chrono::minutes(31));
  jobs::TimeoutCloseJob job;
  jobs::JobSettings settings = job.defaults();
  settings.concurrency = concurrency;
  settings.budget = std::chrono::hours(1);
  jobs::JobContext ctx{clock, store, gateway, settings};
  auto start = std::chrono::steady_clock::now();
  auto report = jobs::run_tick(job, ctx, {"bench", 0});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report.done != orders)
    throw std::runtime_error(fmt::format("only {} of {} closed", report.done, orders));
  (void)sim;
  return {orders, secs};
}

}  // namespace

int main() {
  spdlog::set_level(spdlog::level::warn);  // one line per order would drown the figures
  testing::SimProcess sim({"--alipay-key", testing::fixture("ali_pkcs1.pem"), "--app-public-key",
                           testing::fixture("app_pub.pem"), "--threads", "2"});
  auto fault =
      testing::http_request(sim.port(), "POST", "/sim/alipay/fault",
                            fmt::format(R"({{"kind":"latency","delay_ms":{}}})", kLatencyMs),
                            {{"Content-Type", "application/json"}});
  if (fault.status != 200) throw std::runtime_error("fault injection failed: " + fault.raw);

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  net::HttpClient client(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { io.run(); });
  pay::AlipayConfig cfg;
  cfg.gateway = sim.url("/gateway.do");
  cfg.app_id = "2021000000000001";
  cfg.private_key = testing::read_file(testing::fixture("app_pkcs1.pem"));
  cfg.alipay_public_key = testing::read_file(testing::fixture("ali_pub.pem"));
  cfg.timeout = std::chrono::seconds(5);
  core::SystemClock wall;
  auto made = pay::AlipayGateway::create(cfg, client, wall);
  auto& gateway = *std::get<0>(made);

  fmt::print("timeout-close sweep, gateway latency {} ms (chatglmd-sim), SQLite store\n",
             kLatencyMs);
  Result seq = sweep(sim, gateway, 1, 100);
  fmt::print(
      "  concurrency  1: {:5} orders in {:6.2f} s = {:7.1f} orders/s  ({:.0f}% of 1/latency)\n",
      seq.orders, seq.seconds, seq.rate(), 100.0 * seq.rate() / (1000.0 / kLatencyMs));
  for (int c : {16, 64}) {
    Result par = sweep(sim, gateway, c, 1000);
    double ideal = c * 1000.0 / kLatencyMs;
    fmt::print(
        "  concurrency {:2}: {:5} orders in {:6.2f} s = {:7.1f} orders/s  ({:.0f}% of {}/latency; "
        "{:.1f}x concurrency 1)\n",
        c, par.orders, par.seconds, par.rate(), 100.0 * par.rate() / ideal, c,
        par.rate() / seq.rate());
  }
  fmt::print("  original project: 50 orders per 10-minute tick = {:.3f} orders/s\n", 50.0 / 600);
  work.reset();
  io.stop();
  for (auto& t : threads) t.join();
  return 0;
}
