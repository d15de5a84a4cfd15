// Durable notifies through the real daemon: Alipay's notifies for CREATED orders, signed with
// the test "Alipay" key, POSTed to /api/v1/sale/pay_notify from IN_FLIGHT keep-alive
// connections; prints notifies/s that got `success` (each one a verified, saved, PAID and
// delivered order, acknowledged only after its commit).
//
//   bench_notify_load prepare STORE COUNT IDS_FILE [AGE_MINUTES]
//       CREATED orders of 9.99 in a migrated store (a SQLite file, or a postgresql:// URL),
//       made AGE_MINUTES ago (default 0; the sweep benchmark makes overdue ones); their ids are
//       appended to IDS_FILE
//   bench_notify_load fire PORT[,PORT...] IDS_FILE IN_FLIGHT
//       the notifies (signed before the clock runs); with several ports (nodes sharing one
//       store) the connections are spread over them in turn
#include <fmt/format.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/order_id.hpp"
#include "pay/alipay_notify.hpp"
#include "pay/rsa.hpp"
#include "store/open_store.hpp"
#include "support/temp_dir.hpp"

using namespace chatglmd;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

constexpr const char* kAppId = "2021000000000001";
constexpr const char* kSellerId = "2088102177649450";

int prepare(const std::string& db, int count, const std::string& ids_file, int age_minutes) {
  store::StoreTarget target;
  (store::is_postgres_url(db) ? target.url : target.path) = db;
  target.synchronous = "NORMAL";
  target.migrate = false;
  auto opened = store::open_store(target);
  if (!opened.store) {
    std::cerr << "bench_notify_load: " << opened.error << "\n";
    return 1;
  }
  const core::UtcMs now{std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() -
                        std::int64_t{age_minutes} * 60'000};
  core::OrderIdGenerator gen(static_cast<std::uint64_t>(11 + age_minutes));
  std::ofstream ids(ids_file, std::ios::app);
  opened.store->in_transaction([&] {
    for (int i = 0; i < count; ++i) {
      core::Order o;
      o.order_id = gen.next();
      o.openid = fmt::format("bench-user-{}", i % 500);
      o.product_id = 1002;
      o.product_name = "100 chats";
      o.quota = 100;
      o.model_types = "glm-4";
      o.amount = core::Fen{999};
      o.order_time = now;
      opened.store->orders().insert(o, now);
      ids << o.order_id << "\n";
    }
  });
  return 0;
}

int fire(const std::vector<int>& ports, const std::string& ids_file, int in_flight) {
  auto signer = pay::RsaSigner::from_text(testing::read_file(testing::fixture("ali_pkcs1.pem")));
  std::vector<std::string> bodies;
  std::ifstream ids(ids_file);
  for (std::string id; std::getline(ids, id);) {
    const std::string n = fmt::format("{:06}", bodies.size());
    bodies.push_back(pay::sign_notify_body({{"notify_time", "2024-01-02 03:04:16"},
                                            {"notify_type", "trade_status_sync"},
                                            {"notify_id", "bench-" + id},
                                            {"app_id", kAppId},
                                            {"charset", "utf-8"},
                                            {"version", "1.0"},
                                            {"trade_no", "2024010222001446880" + n},
                                            {"out_trade_no", id},
                                            {"buyer_id", "2088102177846880"},
                                            {"seller_id", kSellerId},
                                            {"trade_status", "TRADE_SUCCESS"},
                                            {"total_amount", "9.99"},
                                            {"receipt_amount", "9.99"},
                                            {"subject", "100 chats"},
                                            {"gmt_create", "2024-01-02 03:04:10"},
                                            {"gmt_payment", "2024-01-02 03:04:15"}},
                                           *signer));
  }
  std::atomic<std::size_t> next{0};
  std::atomic<int> ok{0}, failed{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> callers;
  for (int c = 0; c < in_flight; ++c) {
    const int port = ports[static_cast<std::size_t>(c) % ports.size()];
    callers.emplace_back([&, port] {
      boost::asio::io_context io;
      boost::beast::tcp_stream stream(io);
      stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                   static_cast<unsigned short>(port)));
      boost::beast::flat_buffer buffer;
      for (std::size_t i; (i = next++) < bodies.size();) {
        http::request<http::string_body> req{http::verb::post, "/api/v1/sale/pay_notify", 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::content_type, "application/x-www-form-urlencoded; charset=utf-8");
        req.body() = bodies[i];
        req.prepare_payload();
        http::write(stream, req);
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        (res.body() == "success" ? ok : failed)++;
      }
    });
  }
  for (auto& t : callers) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed != 0) {
    std::cerr << "bench_notify_load: " << failed << " notifies not answered success\n";
    return 1;
  }
  std::cout << fmt::format("{:.0f}\n", ok / secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if ((args.size() == 4 || args.size() == 5) && args[0] == "prepare")
    return prepare(args[1], std::stoi(args[2]), args[3], args.size() == 5 ? std::stoi(args[4]) : 0);
  if (args.size() == 4 && args[0] == "fire") {
    std::vector<int> ports;
    std::stringstream list(args[1]);
    for (std::string port; std::getline(list, port, ',');) ports.push_back(std::stoi(port));
    if (!ports.empty()) return fire(ports, args[2], std::stoi(args[3]));
  }
  std::cerr << "usage: bench_notify_load prepare STORE COUNT IDS_FILE [AGE_MINUTES] | fire "
               "PORT[,PORT...] IDS_FILE IN_FLIGHT\n";
  return 2;
}
