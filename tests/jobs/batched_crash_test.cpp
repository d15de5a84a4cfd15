// Crash safety of the batched write path: `chatglmd serve` (synchronous=FULL) is SIGKILLed while
// signed notifies, chat starts and timeout-close outcomes are all going through its group
// commit, and started again. Whatever was acknowledged survives: every notify answered
// `success` has its order delivered, once; every chat whose answer began has its quota taken,
// once; every overdue order ends closed with one audited close. Nothing is granted twice.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "daemon/daemon_client.hpp"
#include "job_world.hpp"
#include "pay/alipay_notify.hpp"
#include "pay/rsa.hpp"
#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

using core::OrderState;
using namespace std::chrono_literals;

constexpr int kNotifies = 2400;
constexpr int kChatUsers = 96;
constexpr int kOverdue = 60;
constexpr std::int64_t kChatQuota = 3;
constexpr int kKills = 3;

std::string notify_body(const pay::RsaSigner& alipay, const std::string& order_id, int i) {
  pay::Params p = {{"notify_time", "2024-01-02 03:04:16"},
                   {"notify_type", "trade_status_sync"},
                   {"notify_id", fmt::format("crash{:06d}", i)},
                   {"app_id", kAppId},
                   {"charset", "utf-8"},
                   {"version", "1.0"},
                   {"trade_no", fmt::format("2024010222001446880{:07d}", i)},
                   {"out_trade_no", order_id},
                   {"buyer_id", "2088102177846880"},
                   {"seller_id", kSellerId},
                   {"trade_status", "TRADE_SUCCESS"},
                   {"total_amount", "9.99"},
                   {"receipt_amount", "9.99"},
                   {"subject", "100 chats"},
                   {"gmt_payment", "2024-01-02 03:04:15"}};
  return pay::sign_notify_body(p, alipay);
}

// What the clients were told before each kill.
struct Acknowledged {
  std::mutex mutex;
  std::set<std::string> notified;       // order ids answered `success`
  std::set<std::string> answered;       // chat users whose answer began (status line and a piece)
  std::map<std::string, int> attempts;  // chats each user started
};

// Sends notifies [begin, end) with stride `step` until the daemon stops answering; with `again`
// it goes round once more and again (Alipay re-sends until it hears `success`, and duplicates
// keep the group commit busy until the kill).
void send_notifies(int port, const std::vector<std::string>& ids,
                   const std::vector<std::string>& bodies, std::size_t begin, std::size_t end,
                   std::size_t step, bool again, Acknowledged& ack) {
  if (begin >= end) return;
  do {
    for (std::size_t i = begin; i < end; i += step) {
      HttpReply r;
      try {
        r = http_request(port, "POST", "/api/v1/sale/pay_notify", bodies[i],
                         {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                         3000);
      } catch (const std::runtime_error&) {
        return;  // cannot connect: killed between two notifies (an escape here ended the test)
      }
      if (r.status == 0) return;  // killed
      if (r.body == "success") {
        std::lock_guard lock(ack.mutex);
        ack.notified.insert(ids[i]);
      }
    }
  } while (again);
}

// Starts one streamed chat for each user of [begin, end) (stride `step`) whose answer has not
// begun yet, until the daemon stops answering.
void start_chats(int port, const std::vector<std::pair<std::string, std::string>>& users,
                 std::size_t begin, std::size_t end, std::size_t step, Acknowledged& ack) {
  const std::string body = chat_json("glm-4", "hello", R"("stream":true)");
  for (std::size_t i = begin; i < end; i += step) {
    const auto& [openid, token] = users[i];
    {
      std::lock_guard lock(ack.mutex);
      if (ack.answered.count(openid)) continue;
    }
    try {
      RawClient c(port);
      {
        std::lock_guard lock(ack.mutex);
        ++ack.attempts[openid];
      }
      c.send(fmt::format(
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n"
          "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
          token, body.size(), body));
      // The head goes out with the first piece: a 200 with a `data:` line is a begun answer.
      const bool begun = c.read_until(
          [](const std::string& got) {
            return got.rfind("HTTP/1.1 200", 0) == 0 && got.find("data: {") != std::string::npos;
          },
          3000ms);
      if (begun) {
        std::lock_guard lock(ack.mutex);
        ack.answered.insert(openid);
      } else if (c.received().empty()) {
        return;  // killed
      }
      c.read_to_eof(3000ms);
    } catch (const std::runtime_error&) {
      return;  // cannot connect: killed
    }
  }
}

TEST(BatchedCrash, Kill9DuringBatchedNotifiesChatStartsAndJobOutcomesLosesNothingAcknowledged) {
  std::map<std::string, std::string> config{
      {"store.synchronous", "FULL"},
      {"jobs.timeout-close.interval", "1s"},
      {"jobs.timeout-close.lease", "5s"},  // a killed holder blocks the job this long
      {"jobs.timeout-close.batch", "8"},
      {"jobs.timeout-close.concurrency", "8"},
      {"jobs.reconcile.enabled", "false"},
      {"jobs.replenish-shipment.enabled", "false"},
      {"jobs.close-followup.enabled", "false"},
      {"jobs.refund-query.enabled", "false"},
  };
  DaemonHarness d{DaemonOptions{config, {}, false}};
  const int sim = d.sim().port();
  // Slow gateway answers stretch the ticks, so kills land among their outcomes.
  sim_control(sim, "/sim/alipay/fault", R"({"kind":"latency","delay_ms":20})");

  auto db = open_store(d.db());
  core::SystemClock clock;
  const auto now = clock.now();
  std::vector<std::string> overdue, notified_ids, bodies;
  auto alipay = pay::RsaSigner::from_text(read_file(fixture("ali_pkcs1.pem")));
  ASSERT_TRUE(alipay);
  for (int i = 0; i < kOverdue; ++i) {
    overdue.push_back(fmt::format("61{:010d}", i));
    put_trade(sim, overdue.back(), "WAIT_BUYER_PAY");
    insert_order(*db, overdue.back(), now - core::Millis{40min}, fmt::format("late-{}", i));
  }
  for (int i = 0; i < kNotifies; ++i) {
    notified_ids.push_back(fmt::format("62{:010d}", i));
    insert_order(*db, notified_ids.back(), now, fmt::format("payer-{}", i));
    bodies.push_back(notify_body(*alipay, notified_ids.back(), i));
  }
  std::vector<std::pair<std::string, std::string>> chatters;
  for (int i = 0; i < kChatUsers; ++i) {
    const std::string openid = fmt::format("chatter-{}", i);
    db->accounts().grant(openid, kChatQuota, "glm-4");
    chatters.emplace_back(openid, d.token_for(openid));
  }

  const unsigned seed = std::random_device{}();
  std::cout << "seed " << seed << "\n";
  std::mt19937 rng(seed);
  Acknowledged ack;
  std::vector<std::string> at_kill;  // per cycle: notifies and chats acknowledged of its share
  for (int cycle = 0; cycle < kKills; ++cycle) {
    d.start();
    // This cycle's share of the notifies and the chatters, four clients each.
    const std::size_t n0 = kNotifies * cycle / kKills, n1 = kNotifies * (cycle + 1) / kKills;
    const std::size_t c0 = kChatUsers * cycle / kKills, c1 = kChatUsers * (cycle + 1) / kKills;
    std::vector<std::thread> clients;
    for (std::size_t t = 0; t < 4; ++t) {
      clients.emplace_back(
          [&, t] { send_notifies(d.port(), notified_ids, bodies, n0 + t, n1, 4, true, ack); });
      clients.emplace_back([&, t] { start_chats(d.port(), chatters, c0 + t, c1, 4, ack); });
    }
    // Into the load, or into a timeout-close tick (the first starts about a second after the
    // start): then SIGKILL, wherever the commits are (the counts printed below show where).
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 2000)(rng)));
    d.kill9();
    for (auto& c : clients) c.join();
    std::lock_guard lock(ack.mutex);
    std::size_t notified = 0, answered = 0;
    for (std::size_t i = n0; i < n1; ++i) notified += ack.notified.count(notified_ids[i]);
    for (std::size_t i = c0; i < c1; ++i) answered += ack.answered.count(chatters[i].first);
    at_kill.push_back(
        fmt::format("{}/{} notifies, {}/{} chats", notified, n1 - n0, answered, c1 - c0));
  }

  // Up again: Alipay re-sends what was not answered `success`, users retry, the job finishes.
  d.start();
  send_notifies(d.port(), notified_ids, bodies, 0, notified_ids.size(), 1, false, ack);
  ASSERT_EQ(ack.notified.size(), notified_ids.size());
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& id : overdue)
          if (db->orders().get(id)->state != OrderState::Closed) return false;
        return true;
      },
      40s))
      << "overdue orders left open";
  EXPECT_EQ(d.terminate(), 0);

  // Every notify: delivered once, its quota granted once.
  for (const auto& id : notified_ids) {
    auto o = db->orders().get(id);
    EXPECT_EQ(o->state, OrderState::Delivered) << id;
    int delivered = 0;
    for (const auto& e : db->orders().events(id)) delivered += e.to == OrderState::Delivered;
    EXPECT_EQ(delivered, 1) << id;
    auto a = db->accounts().get(o->openid);
    ASSERT_TRUE(a) << o->openid;
    EXPECT_EQ(a->total_quota, kQuota) << o->openid << " granted once";
  }
  // Every chat whose answer began: its quota taken. A start the kill cut short may or may not
  // have been charged (the kill can fall between its commit and its first byte); no start is
  // charged twice.
  for (const auto& [openid, token] : chatters) {
    const auto left = db->accounts().get(openid)->surplus_quota;
    const std::int64_t charged = kChatQuota - left;
    const int attempts = ack.attempts[openid];
    if (ack.answered.count(openid)) {
      EXPECT_GE(charged, 1) << openid << ": answered, not charged";
    }
    EXPECT_LE(charged, attempts) << openid << ": " << attempts << " starts, charged " << charged;
  }
  // Every overdue order: one audited close, never anything else.
  for (const auto& id : overdue) {
    int closes = 0;
    for (const auto& e : db->orders().events(id)) closes += e.to == OrderState::Closed;
    EXPECT_EQ(closes, 1) << id;
  }
  for (int cycle = 0; cycle < kKills; ++cycle)
    std::cout << fmt::format("kill {}: acknowledged {}\n", cycle + 1, at_kill[cycle]);
  EXPECT_GT(ack.answered.size(), 0u);
}

}  // namespace
}  // namespace chatglmd::testing
