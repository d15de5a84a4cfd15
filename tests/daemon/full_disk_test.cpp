// A store that stops taking writes while the daemon runs: a full disk (serve's file-size limit
// lowered to nothing, so every write to a file fails as on a full disk, reads still work) and a
// database file deleted under it. The daemon answers notifies `fail` so that Alipay resends,
// refuses chat starts with a clear error and takes no chat, keeps serving reads, turns /readyz
// 503, logs the store's error once rather than per request, and recovers by itself when the
// store takes writes again; then every order paid meanwhile is delivered exactly once.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <mutex>
#include <thread>

#include "daemon/daemon_client.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;

// serve's stdout and stderr through a FIFO read by the test: the file-size limit that fills the
// "disk" applies to regular files only, so the log stays readable whatever the daemon writes.
class LogPipe {
 public:
  explicit LogPipe(const std::string& path) {
    if (::mkfifo(path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path);
    // Non-blocking, so the open returns before serve opens its end.
    fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
    if (fd_ < 0) throw std::runtime_error("open " + path);
    reader_ = std::thread([this] { drain(); });
  }
  ~LogPipe() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    return text_;
  }
  // Lines holding `needle`.
  int count(const std::string& needle) const {
    const auto t = text();
    int n = 0;
    for (std::size_t at = 0; (at = t.find(needle, at)) != std::string::npos; at += needle.size())
      ++n;
    return n;
  }

 private:
  void drain() {
    char buf[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, 100);
      const auto n = ::read(fd_, buf, sizeof buf);
      if (n > 0) {
        std::lock_guard lock(mu_);
        text_.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0) {
        ::poll(nullptr, 0, 20);  // no writer (yet, or any more): POLLHUP would spin
      }
    }
  }
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string text_;
  std::thread reader_;
};

// Every write to a regular file at or past `bytes` fails with EFBIG, as writes fail on a full
// disk (serve ignores SIGXFSZ); 0 fails them all.
void limit_file_size(pid_t pid, rlim_t bytes) {
  rlimit now{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, nullptr, &now), 0);
  now.rlim_cur = bytes;
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, &now, nullptr), 0) << std::strerror(errno);
}

constexpr const char* kProduct = "3001";
constexpr std::int64_t kProductQuota = 10;

struct BrokenStore : ::testing::Test {
  std::unique_ptr<DaemonHarness> d;
  std::unique_ptr<LogPipe> log;
  std::string token, newcomer_token;
  std::string read_db;  // where the test reads the store: the file, or its kept link
  int payers = 0;

  // A variant's changes to the configuration below.
  virtual void configure(DaemonOptions&) {}

  void SetUp() override {
    DaemonOptions o;
    o.start = false;
    o.config["alipay.mode"] = "precreate";
    // Jobs tick often, so their store errors are in the log too; reconcile waits long enough
    // that the notifies, not the job, settle the payments made while the store is broken.
    for (const char* job : {"timeout-close", "replenish-shipment", "reconcile"})
      o.config[fmt::format("jobs.{}.interval", job)] = "1s";
    o.config["jobs.reconcile.after"] = "10m";
    configure(o);
    d = std::make_unique<DaemonHarness>(o);
    run_ok(*d, {"product", "add", "--id", kProduct, "--name", "ten chats", "--price", "1.00",
                "--quota", std::to_string(kProductQuota), "--models", "glm-4"});
    run_ok(*d, {"user", "add", "buyer", "--quota", "5", "--models", "glm-4"});
    token = d->token_for("buyer");
    newcomer_token = d->token_for("newcomer");
    read_db = d->db();
    log = std::make_unique<LogPipe>(d->dir() + "/serve.log");
    d->start();
    // Alipay resends a notify until it reads `success`: every second here, for a minute.
    boost::json::array schedule{200, 500};
    for (int i = 0; i < 60; ++i) schedule.push_back(1000);
    sim_call(d->sim(), "POST", "/sim/alipay/config",
             boost::json::serialize(boost::json::object{{"notify_schedule_ms", schedule}}));
  }
  void TearDown() override {
    if (d && d->running()) {
      EXPECT_EQ(d->terminate(), 0) << log->text();
    }
    d.reset();  // serve gone, so the pipe has no writer left
    log.reset();
  }

  // A CREATED order of a payer of its own (a user's second order of a product would be the
  // first one again), made and scanned the way a buyer does.
  std::string new_order() {
    const std::string payer = fmt::format("payer-{}", ++payers);
    auto r = d->post_form("/api/v1/sale/create_pay_order", std::string("productId=") + kProduct,
                          d->token_for(payer));
    EXPECT_EQ(envelope_code(r), "0000") << r.raw;
    const std::string url(boost::json::parse(r.body).at("data").as_string());
    auto scanned = http_request(d->sim().port(), "GET", url.substr(url.find("/sim/")));
    EXPECT_EQ(scanned.status, 200) << scanned.raw;
    return url.substr(url.find("out_trade_no=") + 13);
  }
  void pay(const std::string& order_id) {
    auto r = http_request(d->sim().port(), "POST", "/sim/alipay/pay",
                          fmt::format(R"({{"out_trade_no":"{}"}})", order_id),
                          {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.raw;
  }
  // The daemon's replies to the sim's notifies for an order, in order ("success" / "fail").
  std::vector<std::string> replies(const std::string& order_id) {
    std::vector<std::string> out;
    auto all = sim_call(d->sim(), "GET", "/sim/alipay/notifies");
    for (const auto& n : all.at("notifies").as_array())
      if (n.at("out_trade_no").as_string() == order_id) out.emplace_back(n.at("reply").as_string());
    return out;
  }
  std::int64_t deliveries(const std::string& order_id) {
    return sql_int(
        read_db,
        "SELECT count(*) FROM order_event WHERE to_status = 2 AND order_id = '" + order_id + "'");
  }
  std::int64_t surplus(const std::string& openid = "buyer") {
    auto rows =
        sql_rows(read_db, "SELECT surplus_quota FROM user_account WHERE openid = '" + openid + "'");
    return rows.empty() ? 0 : std::stoll(rows[0][0]);
  }
  std::string payer_of(const std::string& order_id) {
    return sql_rows(read_db, "SELECT openid FROM openai_order WHERE order_id = '" + order_id + "'")
        .at(0)
        .at(0);
  }
  HttpReply chat_now(const std::string& path) {
    const std::string extra = path == kOpenAiChat ? R"("stream":true)" : "";
    return chat(*d, path, "Bearer " + token, chat_json("glm-4", "hello", extra));
  }

  // What must hold while the store takes no writes, whatever broke it.
  void expect_degraded(const std::vector<std::string>& paid_meanwhile, const std::string& why) {
    // Alipay is told `fail`, and resends.
    for (const auto& id : paid_meanwhile)
      EXPECT_TRUE(eventually(
          [&] {
            auto r = replies(id);
            return r.size() >= 2 && std::count(r.begin(), r.end(), "success") == 0 &&
                   std::count(r.begin(), r.end(), "fail") == static_cast<long>(r.size());
          },
          20s))
          << id << ": " << fmt::format("{}", fmt::join(replies(id), ",")) << "\n"
          << log->text();
    // Chats are refused with a clear error and cost nothing.
    const auto before = surplus();
    for (int i = 0; i < 20; ++i) {
      auto original = chat_now(kOriginalChat);
      EXPECT_EQ(original.status, 200);
      EXPECT_EQ(envelope_code(original), "0010") << original.raw;
      auto v1 = chat_now(kOpenAiChat);
      EXPECT_EQ(v1.status, 503) << v1.raw;
      EXPECT_EQ(openai_error_code(v1), "store_unavailable") << v1.raw;
    }
    EXPECT_EQ(surplus(), before);
    // So is a new order (it would be a row), and nothing is left of it.
    const auto orders = sql_int(read_db, "SELECT count(*) FROM openai_order");
    auto order = d->post_form("/api/v1/sale/create_pay_order", std::string("productId=") + kProduct,
                              newcomer_token);
    EXPECT_EQ(envelope_code(order), "0010") << order.raw;
    EXPECT_EQ(sql_int(read_db, "SELECT count(*) FROM openai_order"), orders);
    // Reads still work.
    auto quota = d->post_form("/api/v1/account/query_account_quota", "", token);
    EXPECT_EQ(envelope_code(quota), "0000") << quota.raw;
    EXPECT_NE(quota.body.find(fmt::format("\"surplusQuota\":{}", before)), std::string::npos)
        << quota.body;
    EXPECT_EQ(envelope_code(d->request("GET", "/api/v1/sale/query_product_list")), "0000");
    EXPECT_EQ(d->request("GET", "/v1/models", "", {{"Authorization", "Bearer " + token}}).status,
              200);
    // Not ready, and why.
    HttpReply ready;
    EXPECT_TRUE(eventually(
        [&] {
          ready = d->request("GET", "/readyz");
          return ready.status == 503;
        },
        10s));
    EXPECT_NE(ready.body.find(why), std::string::npos) << ready.body;
  }

  // After recovery: every notify answered `success` delivered its order once, and the resends
  // delivered the others once.
  void expect_recovered(const std::vector<std::string>& paid, std::int64_t quota_before) {
    EXPECT_TRUE(eventually([&] { return d->request("GET", "/readyz").status == 200; }, 20s))
        << log->text();
    for (const auto& id : paid) {
      EXPECT_TRUE(eventually(
          [&] {
            auto r = replies(id);
            return std::count(r.begin(), r.end(), "success") >= 1;
          },
          30s))
          << id << "\n"
          << log->text();
      EXPECT_EQ(deliveries(id), 1) << id;
    }
    for (const auto& id : paid) EXPECT_EQ(surplus(payer_of(id)), kProductQuota) << id;
    EXPECT_EQ(surplus(), quota_before);
    // Chats work again, and cost one each.
    auto r = chat_now(kOriginalChat);
    EXPECT_EQ(r.body, "Echo: hello") << r.raw;
    EXPECT_EQ(surplus(), quota_before - 1);
  }
};

TEST_F(BrokenStore, AFullDiskRefusesWritesClearlyLogsOnceAndRecoversLosingNothing) {
  const auto before_id = new_order();
  pay(before_id);
  ASSERT_TRUE(eventually([&] { return deliveries(before_id) == 1; }, 10s)) << log->text();
  std::vector<std::string> waiting = {new_order(), new_order(), new_order()};
  const auto quota = surplus();

  limit_file_size(d->pid(), 0);
  for (const auto& id : waiting) pay(id);
  expect_degraded(waiting, "not ready: store " + d->db() + " does not accept writes: ");
  // Dozens of failed requests and ticks, one line about the store (the rest are counted and
  // summed up a minute later), besides the readiness change.
  EXPECT_EQ(log->count("store error"), 1) << log->text();
  for (const auto& id : waiting) EXPECT_EQ(deliveries(id), 0) << id;

  limit_file_size(d->pid(), RLIM_INFINITY);
  expect_recovered(waiting, quota);
  // Back to ready: the log says how many store errors it did not say one by one.
  EXPECT_EQ(log->count("store error repeated "), 1) << log->text();
  EXPECT_EQ(deliveries(before_id), 1);
}

TEST_F(BrokenStore, ADeletedDatabaseFileIsRefusedLikeAFullDiskUntilItIsBack) {
  const auto quota = surplus();
  std::vector<std::string> waiting = {new_order(), new_order()};
  // Deleted under the running daemon: SQLite in WAL mode would go on committing into a file
  // nobody can open again. A hard link keeps it, to be put back.
  const std::string kept = d->dir() + "/kept.db";
  ASSERT_EQ(::link(d->db().c_str(), kept.c_str()), 0);
  ASSERT_EQ(::unlink(d->db().c_str()), 0);
  read_db = kept;
  for (const auto& id : waiting) pay(id);
  expect_degraded(waiting, "not ready: store " + d->db() + " does not accept writes: ");
  EXPECT_NE(log->text().find("deleted or replaced"), std::string::npos) << log->text();
  EXPECT_EQ(log->count("store error:"), 1) << log->text();

  ASSERT_EQ(::link(kept.c_str(), d->db().c_str()), 0);
  read_db = d->db();
  expect_recovered(waiting, quota);
}

// No job ticks, so a request is the first to meet the broken store.
struct BrokenStoreWithoutJobs : BrokenStore {
  void configure(DaemonOptions& o) override {
    for (const char* job : {"timeout-close", "replenish-shipment", "reconcile", "close-followup",
                            "refund-query", "chat-log-prune"})
      o.config[fmt::format("jobs.{}.enabled", job)] = "false";
  }
};

// Whoever meets a broken store first, the log's one line about it names the store's own reason:
// here a chat start, whose own report only says that its charge was lost. (The tests above
// passed when a job tick happened to fail first, and failed when a chat or a notify did.)
TEST_F(BrokenStoreWithoutJobs, TheOneLineNamesTheStoresReasonWhoeverMeetsItFirst) {
  const std::string kept = d->dir() + "/kept.db";
  ASSERT_EQ(::link(d->db().c_str(), kept.c_str()), 0);
  ASSERT_EQ(::unlink(d->db().c_str()), 0);
  read_db = kept;
  EXPECT_EQ(envelope_code(chat_now(kOriginalChat)), "0010");
  EXPECT_TRUE(eventually([&] { return log->count("store error:") >= 1; }, 10s)) << log->text();
  EXPECT_NE(log->text().find("deleted or replaced"), std::string::npos) << log->text();
  EXPECT_EQ(log->count("store error:"), 1) << log->text();
  ASSERT_EQ(::link(kept.c_str(), d->db().c_str()), 0);
  read_db = d->db();
}

// A chat to be given back (its user left before the first token) while the disk is full: the
// give-back waits for space instead of being lost, and is made once.
TEST_F(BrokenStore, AChatToGiveBackWhileTheDiskIsFullIsGivenBackOnceSpaceReturns) {
  const auto quota = surplus();
  glm_fault(d->sim(), "hang");
  const auto upstream_before = glm_stats(d->sim()).at("chat_requests").as_int64();
  RawClient client(d->port());
  const std::string body = chat_json("glm-4", "hello");
  client.send("POST " + kOriginalChat + " HTTP/1.1\r\nHost: chatglmd\r\nAuthorization: Bearer " +
              token + "\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
  // The upstream call starts only once the charge has committed.
  ASSERT_TRUE(eventually(
      [&] { return glm_stats(d->sim()).at("chat_requests").as_int64() > upstream_before; }, 10s))
      << log->text();
  EXPECT_EQ(surplus(), quota - 1);

  limit_file_size(d->pid(), 0);
  client.close();  // before the first token: the chat is to be given back
  ASSERT_TRUE(eventually([&] { return log->count("chat for buyer ended: cancelled") == 1; }, 10s))
      << log->text();
  // A charge queued after the give-back fails on the full disk: so has the give-back's first try.
  EXPECT_EQ(envelope_code(chat_now(kOriginalChat)), "0010");
  EXPECT_EQ(surplus(), quota - 1);

  limit_file_size(d->pid(), RLIM_INFINITY);
  EXPECT_TRUE(eventually([&] { return surplus() == quota; }, 20s)) << log->text();
  EXPECT_EQ(d->terminate(), 0) << log->text();
  EXPECT_EQ(surplus(), quota) << "given back once";
}

// A read-only copy put in the file's place while the daemon runs (a restore done as the wrong
// user, say): a chmod alone changes nothing for the open file, but the path now names another
// one, and commits are refused until the original is back.
TEST_F(BrokenStore, AReadOnlyCopyInTheFilesPlaceIsRefusedUntilTheOriginalIsBack) {
  const auto quota = surplus();
  std::vector<std::string> waiting = {new_order(), new_order()};
  const std::string kept = d->dir() + "/kept.db", copy = d->dir() + "/copy.db";
  ASSERT_EQ(::link(d->db().c_str(), kept.c_str()), 0);
  std::filesystem::copy_file(d->db(), copy);
  ASSERT_EQ(::chmod(copy.c_str(), 0444), 0);
  ASSERT_EQ(::rename(copy.c_str(), d->db().c_str()), 0);
  read_db = kept;
  for (const auto& id : waiting) pay(id);
  expect_degraded(waiting, "not ready: store " + d->db() + " does not accept writes: ");
  EXPECT_EQ(log->count("store error:"), 1) << log->text();

  ASSERT_EQ(::rename(kept.c_str(), d->db().c_str()), 0);
  read_db = d->db();
  expect_recovered(waiting, quota);
}

}  // namespace
}  // namespace chatglmd::testing
