// Sweep rate of timeout-close against chatglmd-sim with a fixed gateway latency: the design asks
// for close to the gateway-bound rate, in-flight requests / latency. Baseline in the same run:
// concurrency 1 (what a sequential sweeper gets), and the original project's 50 orders per
// 10-minute tick.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <mutex>
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

// Counts the gateway calls in flight (from the call, signed before, to its answer): the
// time-weighted mean and the peak say whether the runner keeps `concurrency` calls going.
class InFlightGateway final : public pay::PaymentGateway {
 public:
  explicit InFlightGateway(pay::PaymentGateway& inner) : inner_(inner) {}
  void async_query(const std::string& id,
                   std::function<void(pay::TradeQueryResult)> done) override {
    begin();
    inner_.async_query(id, [this, done = std::move(done)](pay::TradeQueryResult r) {
      end();
      done(std::move(r));
    });
  }
  void async_close(const std::string& id,
                   std::function<void(pay::TradeCloseResult)> done) override {
    prepare_close(id)(std::move(done));
  }
  // Signing is timed apart; a call is in flight from its send to its answer.
  pay::PreparedCall<pay::TradeCloseResult> prepare_close(const std::string& id) override {
    auto started = std::chrono::steady_clock::now();
    auto send = inner_.prepare_close(id);
    signing_us_ += std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
    return [this, send](std::function<void(pay::TradeCloseResult)> done) {
      begin();
      send([this, done = std::move(done)](pay::TradeCloseResult r) {
        end();
        done(std::move(r));
      });
    };
  }
  void async_create_pay_form(const core::Order& o,
                             std::function<void(pay::PayFormResult)> done) override {
    inner_.async_create_pay_form(o, std::move(done));
  }
  void reset() {
    std::lock_guard lock(mutex_);
    in_flight_ = peak_ = 0;
    weighted_ = 0;
    signing_us_ = 0;
    since_ = last_ = std::chrono::steady_clock::now();
  }
  double mean() {
    std::lock_guard lock(mutex_);
    advance();
    return weighted_ / std::chrono::duration<double>(last_ - since_).count();
  }
  int peak() {
    std::lock_guard lock(mutex_);
    return peak_;
  }
  double signing_seconds() const { return signing_us_.load() / 1e6; }

 private:
  void advance() {
    auto now = std::chrono::steady_clock::now();
    weighted_ += in_flight_ * std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }
  void begin() {
    std::lock_guard lock(mutex_);
    advance();
    peak_ = std::max(peak_, ++in_flight_);
  }
  void end() {
    std::lock_guard lock(mutex_);
    advance();
    --in_flight_;
  }
  pay::PaymentGateway& inner_;
  std::mutex mutex_;
  int in_flight_ = 0, peak_ = 0;
  double weighted_ = 0;
  std::atomic<long> signing_us_{0};
  std::chrono::steady_clock::time_point since_, last_;
};

struct Result {
  int orders;
  double seconds;
  double mean_in_flight = 0;
  int peak_in_flight = 0;
  double rate() const { return orders / seconds; }
};

Result sweep(testing::SimProcess& sim, InFlightGateway& gateway, int concurrency, int orders,
             const std::string& synchronous) {
  testing::TempDir dir;
  auto opened = store::open_sqlite_store({dir.file("bench.db"), synchronous, 5000, true});
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
  gateway.reset();
  auto start = std::chrono::steady_clock::now();
  auto report = jobs::run_tick(job, ctx, {"bench", 0});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report.done != orders)
    throw std::runtime_error(fmt::format("only {} of {} closed", report.done, orders));
  (void)sim;
  return {orders, secs, gateway.mean(), gateway.peak()};
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // one line per order would drown the figures
  // The store's default (FULL) unless told: every outcome is a durable write.
  const std::string synchronous = argc > 1 ? argv[1] : "FULL";
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
  InFlightGateway gateway(*std::get<0>(made));

  fmt::print("timeout-close sweep, gateway latency {} ms (chatglmd-sim), SQLite store ({})\n",
             kLatencyMs, synchronous);
  Result seq = sweep(sim, gateway, 1, 100, synchronous);
  fmt::print(
      "  concurrency  1: {:5} orders in {:6.2f} s = {:7.1f} orders/s  ({:.0f}% of 1/latency)\n",
      seq.orders, seq.seconds, seq.rate(), 100.0 * seq.rate() / (1000.0 / kLatencyMs));
  for (int c : {16, 64}) {
    Result par = sweep(sim, gateway, c, 1000, synchronous);
    double ideal = c * 1000.0 / kLatencyMs;
    fmt::print(
        "  concurrency {:2}: {:5} orders in {:6.2f} s = {:7.1f} orders/s  ({:.0f}% of {}/latency; "
        "{:.1f}x concurrency 1); calls in flight: mean {:.1f}, peak {}; signing {:.2f} s\n",
        c, par.orders, par.seconds, par.rate(), 100.0 * par.rate() / ideal, c,
        par.rate() / seq.rate(), par.mean_in_flight, par.peak_in_flight, gateway.signing_seconds());
  }
  fmt::print("  original project: 50 orders per 10-minute tick = {:.3f} orders/s\n", 50.0 / 600);
  work.reset();
  io.stop();
  for (auto& t : threads) t.join();
  return 0;
}
