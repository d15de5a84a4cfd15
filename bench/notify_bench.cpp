// Durable notify handling: each verified notify saves the raw notify, moves the order to PAID
// and delivers. One transaction per notify costs one fsync each; the group committer lets the
// notifies in flight share one. Baseline in the same run: one transaction per notify from the
// same number of concurrent callers. Also RSA verification per core, which must not be the
// bottleneck.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "core/order_id.hpp"
#include "jobs/settlement.hpp"
#include "pay/alipay_notify.hpp"
#include "pay/rsa.hpp"
#include "store/group_commit.hpp"
#include "store/sqlite_store.hpp"
#include "support/temp_dir.hpp"

using namespace chatglmd;

namespace {

constexpr int kInFlight = 64;
constexpr int kNotifies = 2000;
const core::UtcMs kNow{1'700'000'000'000};

std::string synchronous = "FULL";  // argv[1]: OFF shows the CPU cost of the SQL alone

std::unique_ptr<store::Store> fresh_store(testing::TempDir& dir, std::vector<std::string>& ids) {
  auto opened = store::open_sqlite_store({dir.file("notify.db"), synchronous, 10000, true});
  core::OrderIdGenerator gen(7);
  for (int i = 0; i < kNotifies; ++i) {
    core::Order o;
    o.order_id = gen.next();
    o.openid = fmt::format("user-{}", i % 100);
    o.product_name = "p";
    o.quota = 10;
    o.amount = core::Fen{999};
    o.order_time = kNow;
    opened.store->orders().insert(o, kNow);
    ids.push_back(o.order_id);
  }
  return std::move(opened.store);
}

void settle_unit(store::Store& s, const std::string& id) {
  s.notifies().save({"N" + id, id, "TRADE_SUCCESS", "ok", "raw body", kNow});
  jobs::settle_payment(s, {id, "T" + id, core::Fen{999}, kNow}, core::Cause::Notify, kNow);
}

template <typename Submit>
double run(const std::vector<std::string>& ids, Submit submit) {
  std::atomic<int> next{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> callers;
  for (int c = 0; c < kInFlight; ++c) {
    callers.emplace_back([&] {
      for (int i; (i = next++) < kNotifies;) submit(ids[static_cast<std::size_t>(i)]);
    });
  }
  for (auto& t : callers) t.join();
  return kNotifies /
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) synchronous = argv[1];
  spdlog::set_level(spdlog::level::warn);  // one line per order would drown the figures
  double single, grouped;
  std::uint64_t commits = 0;
  {
    testing::TempDir dir;
    std::vector<std::string> ids;
    auto s = fresh_store(dir, ids);
    single =
        run(ids, [&](const std::string& id) { s->in_transaction([&] { settle_unit(*s, id); }); });
  }
  {
    testing::TempDir dir;
    std::vector<std::string> ids;
    auto s = fresh_store(dir, ids);
    store::GroupCommitter committer(*s);
    grouped = run(ids, [&](const std::string& id) {
      std::promise<bool> done;
      auto f = done.get_future();
      committer.submit([&] { settle_unit(*s, id); }, [&](bool ok) { done.set_value(ok); });
      if (!f.get()) throw std::runtime_error("unit failed");
    });
    commits = committer.commits();
  }
  // RSA: verify vector-2-shaped notifies signed with the test "Alipay" key.
  auto signer = pay::RsaSigner::from_text(testing::read_file(testing::fixture("ali_pkcs1.pem")));
  auto verifier = pay::RsaVerifier::from_text(testing::read_file(testing::fixture("ali_pub.pem")));
  pay::Params params = {{"app_id", "2021000000000001"},
                        {"out_trade_no", "100000000001"},
                        {"total_amount", "9.99"},
                        {"trade_status", "TRADE_SUCCESS"},
                        {"notify_id", "N1"},
                        {"seller_id", "2088102177649450"}};
  std::string body = pay::sign_notify_body(params, *signer);
  const int verifies = 3000;
  auto start = std::chrono::steady_clock::now();
  int good = 0;
  for (int i = 0; i < verifies; ++i) good += pay::parse_notify(body, *verifier).signature_ok;
  double verify_rate =
      verifies / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (good != verifies) throw std::runtime_error("verification failed");

  fmt::print("notify settlement, SQLite synchronous={}, {} notifies, {} in flight\n", synchronous,
             kNotifies, kInFlight);
  fmt::print("  one transaction per notify: {:8.0f} notifies/s\n", single);
  fmt::print(
      "  group commit:               {:8.0f} notifies/s  ({} commits, {:.1f} notifies per "
      "commit)\n",
      grouped, commits, static_cast<double>(kNotifies) / static_cast<double>(commits));
  fmt::print("  ratio group / single:       {:8.1f}x\n", grouped / single);
  fmt::print(
      "  RSA verify, one core:       {:8.0f} notifies/s  ({:.1f}x the grouped commit rate)\n",
      verify_rate, verify_rate / grouped);
  return 0;
}
