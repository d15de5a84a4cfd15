// The endpoints over real sockets, with a real SQLite store, the real notify verification with
// the test keys, and a fake ChatGLM upstream served by our own server.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <future>
#include <mutex>
#include <thread>

#include "filter/filter_holder.hpp"
#include "http/handlers/account_cache.hpp"
#include "http/handlers/app_services.hpp"
#include "llm/chatglm_client.hpp"
#include "llm/jwt.hpp"
#include "net/http_client.hpp"
#include "pay/alipay_notify.hpp"
#include "pay/payment_gateway.hpp"
#include "socket_client.hpp"
#include "store/group_commit.hpp"
#include "store/sqlite_store.hpp"
#include "support/failing_commits.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "test_server.hpp"

namespace chatglmd::http {
namespace {

using namespace std::chrono_literals;
using chatglmd::testing::raw_http;
using testing::body_of;
using testing::dechunk;
using testing::status_of;
using testing::TestServer;

constexpr const char* kSecret = "test-secret";
constexpr core::UtcMs kStart{1'700'000'000'000};

class FakeGateway final : public pay::PaymentGateway {
 public:
  std::atomic<int> forms{0};
  bool fail = false;
  void async_query(const std::string&, std::function<void(pay::TradeQueryResult)> done) override {
    done({});
  }
  void async_close(const std::string&, std::function<void(pay::TradeCloseResult)> done) override {
    done({});
  }
  void async_create_pay_form(const core::Order& order,
                             std::function<void(pay::PayFormResult)> done) override {
    ++forms;
    pay::PayFormResult r;
    r.ok = !fail;
    r.data = "https://qr.example/" + order.order_id;
    done(r);
  }
};

std::string http_post(int port, const std::string& path, const std::string& body,
                      const std::string& token = "",
                      const std::string& type = "application/x-www-form-urlencoded") {
  std::string req = "POST " + path +
                    " HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: " + type +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  return raw_http(port, req + "\r\n" + body);
}
std::string http_get(int port, const std::string& path) {
  return raw_http(port, "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}
boost::json::value json_of(const std::string& res) {
  return boost::json::parse(body_of(res));
}

class HandlersTest : public ::testing::Test {
 protected:
  HandlersTest() {
    auto opened = store::open_sqlite_store({dir.file("t.db")});
    EXPECT_EQ(opened.error, "");
    store = std::move(opened.store);
    store::Product p;
    p.product_id = 1;
    p.name = "100 chats";
    p.quota = 100;
    p.price = core::Fen{999};
    p.model_types = "glm-4";
    store->products().add(p);
    p.product_id = 2;
    p.name = "offline";
    store->products().add(p);
    store->products().set_enabled(2, false);
    ali_key = *pay::RsaVerifier::from_text(
        chatglmd::testing::read_file(chatglmd::testing::fixture("ali_pub.pem")));
    ali_signer = *pay::RsaSigner::from_text(
        chatglmd::testing::read_file(chatglmd::testing::fixture("ali_pkcs1.pem")));
  }

  AppServices services() {
    AppServices s;
    s.store = store.get();
    s.gateway = &gateway;
    s.clock = &clock;
    s.registry = &registry;
    s.filter = &filter;
    s.settings.token_secret = kSecret;
    s.settings.wechat_token = "wxtoken";
    s.settings.web_dir = dir.path().string();
    auto key = ali_key;
    s.notify.parse = [key](std::string_view body) { return pay::parse_notify(body, *key); };
    s.notify.check = [](const pay::ParsedNotify& n, const core::Order* o) {
      return pay::check_notify(n, {"2021000000000001", ""}, o);
    };
    return s;
  }
  std::string token(const std::string& openid) {
    return llm::make_user_token(openid, kSecret, clock.now(), std::chrono::hours(1));
  }

  chatglmd::testing::TempDir dir;
  std::unique_ptr<store::Store> store;
  FakeGateway gateway;
  core::ManualClock clock{kStart};
  metrics::Registry registry;
  filter::FilterHolder filter;
  std::optional<pay::RsaVerifier> ali_key;
  std::optional<pay::RsaSigner> ali_signer;
};

TEST_F(HandlersTest, OpsEndpointsAndStaticFiles) {
  chatglmd::testing::write_file(dir.path() / "index.html", "<html>chat</html>");
  chatglmd::testing::write_file(dir.path() / "app.js", "let a;");
  auto s = services();
  bool ready = true;
  s.not_ready = [&] { return ready ? std::string() : std::string("the store is read-only"); };
  Router r;
  register_ops_routes(r, s);
  TestServer srv(std::move(r));
  EXPECT_EQ(body_of(http_get(srv.port(), "/healthz")), "ok\n");
  EXPECT_EQ(status_of(http_get(srv.port(), "/readyz")), 200);
  ready = false;
  auto not_ready = http_get(srv.port(), "/readyz");
  EXPECT_EQ(status_of(not_ready), 503);
  EXPECT_EQ(body_of(not_ready), "not ready: the store is read-only\n");
  auto page = http_get(srv.port(), "/");
  EXPECT_EQ(body_of(page), "<html>chat</html>");
  EXPECT_NE(page.find("Content-Type: text/html"), std::string::npos);
  auto js = http_get(srv.port(), "/app.js");
  EXPECT_NE(js.find("Content-Type: text/javascript"), std::string::npos);
  EXPECT_EQ(status_of(http_get(srv.port(), "/static/..%2f..%2fetc%2fpasswd")), 404);
  EXPECT_EQ(status_of(http_get(srv.port(), "/..%2ft.db")), 404);
  EXPECT_EQ(status_of(http_get(srv.port(), "/t.db/../t.db")), 404);
  registry.counter("probe_total", "Probe.").get().inc();
  auto metrics = http_get(srv.port(), "/metrics");
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.find("probe_total 1\n"), std::string::npos) << metrics;
}

// A dashboard report reads through its own connection: a write unit holding the main
// connection (the group commit's) does not hold the report up, nor does the report hold it.
TEST_F(HandlersTest, AdminReportsDoNotWaitForTheWriteConnection) {
  auto reader = store::open_sqlite_store({dir.file("t.db"), "FULL", 5000, false});
  ASSERT_EQ(reader.error, "");
  auto s = services();
  s.settings.admin_token = "admin-token-for-the-test-0123";
  s.reports = reader.store.get();
  Router r;
  register_admin_routes(r, s);
  TestServer srv(std::move(r));

  std::promise<void> holding;
  std::promise<void> release;
  auto released = release.get_future();
  std::thread writer([&] {
    store->in_transaction([&] {
      holding.set_value();
      released.wait();  // the main connection stays taken until the report has answered
    });
  });
  holding.get_future().wait();
  auto report = std::async(std::launch::async, [&] {
    return raw_http(srv.port(),
                    "GET /admin/api/summary HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
                    "admin-token-for-the-test-0123\r\nConnection: close\r\n\r\n",
                    20'000);
  });
  const bool answered = report.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  release.set_value();
  writer.join();
  EXPECT_TRUE(answered) << "the report waited for the write connection";
  EXPECT_EQ(status_of(report.get()), 200);
}

// The summary is kept 30 s per window length: a dashboard left open costs one report per 30 s.
TEST_F(HandlersTest, TheAdminSummaryIsKeptThirtySeconds) {
  auto s = services();
  s.settings.admin_token = "admin-token-for-the-test-0123";
  Router r;
  register_admin_routes(r, s);
  TestServer srv(std::move(r));
  auto summary = [&] {
    return json_of(raw_http(srv.port(),
                            "GET /admin/api/summary?days=1 HTTP/1.1\r\nHost: t\r\nAuthorization: "
                            "Bearer admin-token-for-the-test-0123\r\nConnection: close\r\n\r\n"));
  };
  auto first = summary();
  EXPECT_EQ(first.at("chats").at("total").to_number<int>(), 0);
  store->chat_log().append({"u1", "glm-4", "original", clock.now(), 5, 10, 1, 2, "ok"});
  clock.advance(std::chrono::seconds(29));
  auto kept = summary();
  EXPECT_EQ(kept.at("generatedAt"), first.at("generatedAt")) << "served from the cache";
  EXPECT_EQ(kept.at("chats").at("total").to_number<int>(), 0);
  clock.advance(std::chrono::seconds(1));
  auto fresh = summary();
  EXPECT_NE(fresh.at("generatedAt"), first.at("generatedAt")) << "30 s later it is made again";
  EXPECT_EQ(fresh.at("chats").at("total").to_number<int>(), 1);
}

TEST_F(HandlersTest, WeChatCodeLoginAndQuota) {
  Router r;
  register_auth_routes(r, services());
  register_sale_routes(r, services());
  TestServer srv(std::move(r));
  // sha1 of the sorted "1700000000", "nonce", "wxtoken".
  auto check =
      http_get(srv.port(), "/api/v1/wx/portal/wx1?signature=bad&timestamp=1&nonce=n&echostr=hi");
  EXPECT_NE(body_of(check), "hi");
  std::vector<std::string> parts{"wxtoken", "1700000000", "nonce"};
  std::sort(parts.begin(), parts.end());
  std::string joined = parts[0] + parts[1] + parts[2];
  auto sig = chatglmd::testing::run_command(
                 {"/bin/sh", "-c", "printf %s '" + joined + "' | sha1sum | cut -c1-40"})
                 .out;
  sig.erase(sig.find_last_not_of("\n") + 1);
  std::string q = "?signature=" + sig + "&timestamp=1700000000&nonce=nonce";
  EXPECT_EQ(body_of(http_get(srv.port(), "/api/v1/wx/portal/wx1" + q + "&echostr=hi")), "hi");
  auto msg =
      http_post(srv.port(), "/api/v1/wx/portal/wx1" + q,
                "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[user-1]]></"
                "FromUserName>"
                "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[login]]></Content></xml>",
                "", "text/xml");
  auto text = body_of(msg);
  auto at = text.find("验证码为：");
  ASSERT_NE(at, std::string::npos) << text;
  std::string code = text.substr(at + std::string("验证码为：").size(), 8);
  EXPECT_EQ(json_of(http_post(srv.port(), "/api/v1/auth/login", "code=000000")).at("code"), "0003");
  auto login = json_of(http_post(srv.port(), "/api/v1/auth/login", "code=" + code));
  ASSERT_EQ(login.at("code"), "0000") << login;
  std::string tok(login.at("data").as_string());
  auto quota = json_of(http_post(srv.port(), "/api/v1/account/query_account_quota", "", tok));
  EXPECT_EQ(quota.at("code"), "0000");
  EXPECT_EQ(quota.at("data").at("surplusQuota"), 0);
  EXPECT_EQ(json_of(http_post(srv.port(), "/api/v1/account/query_account_quota", "")).at("code"),
            "0003");
  // A code works once.
  EXPECT_EQ(json_of(http_post(srv.port(), "/api/v1/auth/login", "code=" + code)).at("code"),
            "0003");
}

TEST_F(HandlersTest, ProductsAndPayOrderReuse) {
  Router r;
  register_sale_routes(r, services());
  TestServer srv(std::move(r));
  auto list = http_get(srv.port(), "/api/v1/sale/query_product_list");
  EXPECT_NE(body_of(list).find("\"price\":9.99,\"priceFen\":999"), std::string::npos) << list;
  EXPECT_EQ(json_of(list).at("data").as_array().size(), 1u);
  auto tok = token("buyer");
  EXPECT_EQ(json_of(http_post(srv.port(), "/api/v1/sale/create_pay_order", "productId=2", tok))
                .at("code"),
            "OE001");
  EXPECT_EQ(json_of(http_post(srv.port(), "/api/v1/sale/create_pay_order", "productId=x", tok))
                .at("code"),
            "0002");
  EXPECT_EQ(
      json_of(http_post(srv.port(), "/api/v1/sale/create_pay_order", "productId=1")).at("code"),
      "0003");
  auto first = json_of(http_post(srv.port(), "/api/v1/sale/create_pay_order", "productId=1", tok));
  ASSERT_EQ(first.at("code"), "0000") << first;
  clock.advance(std::chrono::minutes(20));
  auto again = json_of(http_post(srv.port(), "/api/v1/sale/create_pay_order", "productId=1", tok));
  EXPECT_EQ(again.at("data"), first.at("data"));  // reused, no second gateway call
  EXPECT_EQ(gateway.forms, 1);
  clock.advance(std::chrono::minutes(6));  // 26 min: less than 5 min before timeout-close
  auto fresh = json_of(http_post(srv.port(), "/api/v1/sale/create_pay_order", "productId=1", tok));
  EXPECT_NE(fresh.at("data"), first.at("data"));
  EXPECT_EQ(gateway.forms, 2);
}

TEST_F(HandlersTest, NotifyPaysDeliversOnceAndRejectsTampering) {
  core::Order o;
  o.order_id = "100000000001";
  o.openid = "payer";
  o.product_id = 1;
  o.quota = 100;
  o.model_types = "glm-4";
  o.amount = core::Fen{999};
  o.order_time = kStart;
  o.next_attempt_at = kStart;
  ASSERT_TRUE(store->orders().insert(o, kStart));
  Router r;
  register_notify_routes(r, services());
  TestServer srv(std::move(r));
  pay::Params params{
      {"notify_id", "n-1"}, {"app_id", "2021000000000001"},    {"out_trade_no", o.order_id},
      {"trade_no", "T1"},   {"trade_status", "TRADE_SUCCESS"}, {"total_amount", "9.99"}};
  std::string body = pay::sign_notify_body(params, *ali_signer);
  EXPECT_EQ(body_of(http_post(srv.port(), "/api/v1/sale/pay_notify", body)), "success");
  EXPECT_EQ(body_of(http_post(srv.port(), "/api/v1/sale/pay_notify", body)),
            "success");  // duplicate
  EXPECT_EQ(store->orders().get(o.order_id)->state, core::OrderState::Delivered);
  EXPECT_EQ(store->accounts().get("payer")->surplus_quota, 100);  // not twice
  // The pay_notify row keeps the notify as Alipay sent it, with its verdict.
  auto kept = store->notifies().get("n-1");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->raw_body, body);
  EXPECT_EQ(kept->out_trade_no, o.order_id);
  EXPECT_EQ(kept->verdict, "ok");
  EXPECT_NE(registry.render().find("chatglmd_notify_handled_total 2"), std::string::npos);
  auto tampered = body;
  tampered.replace(tampered.find("9.99"), 4, "0.01");
  EXPECT_EQ(body_of(http_post(srv.port(), "/api/v1/sale/pay_notify", tampered)), "fail");
  params[0].second = "n-2";
  params[5].second = "1.00";  // signed, but not the order's amount
  EXPECT_EQ(body_of(http_post(srv.port(), "/api/v1/sale/pay_notify",
                              pay::sign_notify_body(params, *ali_signer))),
            "fail");
  EXPECT_NE(registry.render().find("chatglmd_notify_rejected_total{reason=\"wrong_amount\"} 1"),
            std::string::npos);
  EXPECT_NE(registry.render().find("chatglmd_notify_rejected_total{reason=\"bad_signature\"} 1"),
            std::string::npos);
}

// --- chat, against a fake upstream that is our own server ---

class ChatTest : public HandlersTest {
 protected:
  // The upstream answers each request with these SSE pieces (or a 500 when empty).
  Router upstream_router() {
    Router r;
    r.add("POST", "/chat/completions", [this](ExchangePtr ex) {
      ++upstream_calls;
      {
        std::lock_guard lock(held_mutex);
        if (held_upstream) {
          held_upstream->set_value(ex);
          held_upstream = nullptr;
          return;
        }
      }
      if (upstream_fail) {
        ex->respond(Response::json(
            500, boost::json::parse(R"({"error":{"code":"500","message":"down"}})")));
        return;
      }
      ex->start_stream(200, "text/event-stream");
      for (const char* piece : {"Hel", "lo"})
        ex->write(std::string("data: "
                              "{\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                              "\"assistant\",\"content\":\"") +
                  piece + "\"}}]}\n\n");
      ex->write(
          "data: "
          "{\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":"
          "\"stop\"}]}\n\n");
      ex->write("data: [DONE]\n\n");
      ex->finish();
    });
    return r;
  }

  void start() {
    upstream = std::make_unique<TestServer>(upstream_router());
    if (relay_as_the_daemon) {
      // As serve does: each call on the loop of the request that made it.
      net::HttpClient::Options options;
      options.one_thread_per_loop = true;
      http_client = std::make_unique<net::HttpClient>(
          [this]() -> boost::asio::io_context& { return front_runtime.io_here(); }, options);
    } else {
      http_client = std::make_unique<net::HttpClient>(front_runtime.io());
    }
    llm::ChatGlmConfig cfg;
    cfg.base_url = "http://127.0.0.1:" + std::to_string(upstream->port());
    cfg.api_key = "abcdefgh12345678.0123456789abcdef";
    cfg.models = {"glm-4", "glm-3-turbo"};
    chat = std::make_unique<llm::ChatGlmClient>(*http_client, clock, cfg);
    auto s = services();
    s.chat = chat.get();
    s.commits = commits.get();
    s.accounts = account_cache.get();
    s.settings.rate_limit = 3;
    s.settings.free_chats = free_chats;
    Router r;
    register_chat_routes(r, s);
    register_openai_routes(r, s);
    ServerConfig sc;
    sc.listen = "127.0.0.1:0";
    front = std::make_unique<Server>(front_runtime, sc, std::move(r), registry);
    ASSERT_EQ(front->start(), "");
    front_runtime.start();
  }
  void TearDown() override {
    if (front) front->drain(Millis{0});
    front.reset();
    front_runtime.stop();
  }
  std::string chat_request(const std::string& path, const std::string& tok,
                           const std::string& model = "glm-4", const std::string& extra = "") {
    return http_post(
        front->port() ? front->port() : 0, path,
        R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}])" + extra + "}",
        tok, "application/json");
  }

  std::atomic<int> upstream_calls{0};
  bool upstream_fail = false;
  bool relay_as_the_daemon = false;  // set before start()
  // When set, the next upstream call hands its exchange here and the test plays the stream.
  std::mutex held_mutex;
  std::promise<ExchangePtr>* held_upstream = nullptr;
  std::unique_ptr<TestServer> upstream;
  IoRuntime front_runtime{2, 2};
  std::unique_ptr<net::HttpClient> http_client;
  std::unique_ptr<llm::ChatGlmClient> chat;
  // What `commits` writes through when it is not `store` itself: declared first, so that it
  // outlives the committer, whose thread may still write a queued unit as the test ends.
  std::unique_ptr<store::Store> commit_store;
  std::unique_ptr<store::GroupCommitter> commits;  // set before start(): the daemon's write path
  std::unique_ptr<store::Store> cache_reader;      // with account_cache, set before start()
  std::unique_ptr<AccountCache> account_cache;     // account status from memory, as the daemon's
  int free_chats = 0;                              // per window for users without quota
  std::unique_ptr<Server> front;
};

TEST_F(ChatTest, OriginalPathStreamsRawTextAndSpendsOneChat) {
  store->accounts().grant("u1", 2, "glm-4");
  start();
  auto res = chat_request("/api/v1/chatgpt/chat/completions", token("u1"));
  EXPECT_NE(res.find("Content-Type: text/event-stream"), std::string::npos) << res;
  EXPECT_EQ(dechunk(body_of(res)), "Hello");
  EXPECT_EQ(store->accounts().get("u1")->surplus_quota, 1);
  // Refusals are clear answers.
  EXPECT_EQ(json_of(chat_request("/api/v1/chatgpt/chat/completions", "")).at("code"), "0003");
  EXPECT_EQ(json_of(chat_request("/api/v1/chatgpt/chat/completions", token("u1"), "glm-3-turbo"))
                .at("code"),
            "0008");
  EXPECT_EQ(json_of(chat_request("/api/v1/chatgpt/chat/completions", token("nobody"))).at("code"),
            "0006");
}

// The charge and the give-back are units of the group commit (the daemon's one write path), not
// transactions of their own: chat starts in flight share one fsync.
TEST_F(ChatTest, ChatStartsAndGiveBacksGoThroughTheGroupCommit) {
  store->accounts().grant("u3", 2, "glm-4");
  commits = std::make_unique<store::GroupCommitter>(*store);
  start();
  auto res = chat_request("/v1/chat/completions", token("u3"), "glm-4", R"(,"stream":true)");
  EXPECT_EQ(status_of(res), 200) << res;
  EXPECT_EQ(store->accounts().get("u3")->surplus_quota, 1);
  // Each chat's usage-log row is a unit of its own too, written after the answer.
  auto units_become = [&](std::uint64_t n) {
    return chatglmd::testing::eventually([&] { return commits->units() == n; },
                                         std::chrono::seconds(5));
  };
  EXPECT_TRUE(units_become(2)) << commits->units() << ": the charge and the log row";
  upstream_fail = true;
  EXPECT_EQ(status_of(chat_request("/v1/chat/completions", token("u3"))), 502);
  EXPECT_EQ(store->accounts().get("u3")->surplus_quota, 1) << "given back before the answer";
  EXPECT_TRUE(units_become(5)) << commits->units()
                               << ": charge and give-back through the group commit, and the row";
}

// A freeze that commits between the front's account check and the charge: the charge finds it
// and nothing is charged, no free chat taken. Made here by freezing the row behind the front's
// back (no account stamp moves, so the front still believes the account is open).
TEST_F(ChatTest, AFreezeTheFrontDidNotSeeYetIsFoundByTheCharge) {
  store->accounts().grant("u5", 1, "glm-4");
  free_chats = 1;
  commits = std::make_unique<store::GroupCommitter>(*store);
  auto reader = store::open_sqlite_store({dir.file("t.db"), "FULL", 0, false});
  ASSERT_TRUE(reader.store) << reader.error;
  cache_reader = std::move(reader.store);
  account_cache = std::make_unique<AccountCache>(cache_reader->accounts());
  start();
  ASSERT_EQ(status_of(chat_request("/v1/chat/completions", token("u5"))), 200);
  ASSERT_EQ(store->accounts().get("u5")->surplus_quota, 0);
  auto set_status_behind_the_front = [&](int status) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("t.db").c_str(), &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);
    const std::string sql =
        "UPDATE user_account SET status = " + std::to_string(status) + " WHERE openid = 'u5'";
    EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  };
  set_status_behind_the_front(1);
  const int calls_before = upstream_calls.load();
  auto res = chat_request("/v1/chat/completions", token("u5"));
  EXPECT_EQ(status_of(res), 403) << res;
  EXPECT_NE(res.find("frozen"), std::string::npos) << res;
  EXPECT_EQ(upstream_calls.load(), calls_before) << "no upstream call";
  // No quota was left, and the refused chat did not use the free chat up either: open again,
  // the account still has it.
  set_status_behind_the_front(0);
  auto free = chat_request("/v1/chat/completions", token("u5"));
  EXPECT_EQ(status_of(free), 200) << free;
  EXPECT_EQ(upstream_calls.load(), calls_before + 1);
}

// A chat whose charge cannot be committed (a full disk) is refused and costs nothing. A free chat
// taken in its unit lives in this process's memory, which the store's rollback does not undo: it
// is given back to its window, so the user still has it once the disk takes writes again.
TEST_F(ChatTest, AFreeChatWhoseChargeFailedToCommitIsGivenBack) {
  free_chats = 1;
  commit_store = std::make_unique<chatglmd::testing::FailingCommits>(
      *store, [](int batch) { return batch == 1; });
  commits = std::make_unique<store::GroupCommitter>(*commit_store);
  start();
  auto refused = chat_request("/v1/chat/completions", token("u6"));
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_NE(refused.find("store_unavailable"), std::string::npos) << refused;
  EXPECT_EQ(upstream_calls.load(), 0);
  auto free = chat_request("/v1/chat/completions", token("u6"));
  EXPECT_EQ(status_of(free), 200) << free << ": the window's one free chat is still there";
  EXPECT_EQ(upstream_calls.load(), 1);
  auto none = chat_request("/v1/chat/completions", token("u6"));
  EXPECT_EQ(status_of(none), 429) << none;
  EXPECT_NE(none.find("insufficient_quota"), std::string::npos) << none << ": taken now";
}

TEST_F(ChatTest, UpstreamFailureBeforeTheFirstTokenGivesTheChatBack) {
  store->accounts().grant("u2", 1, "");
  upstream_fail = true;
  start();
  auto res = chat_request("/api/v1/chatgpt/chat/completions", token("u2"));
  EXPECT_EQ(json_of(res).at("code"), "0009") << res;
  EXPECT_TRUE(chatglmd::testing::eventually(
      [&] { return store->accounts().get("u2")->surplus_quota == 1; }, std::chrono::seconds(5)));
  auto v1 = chat_request("/v1/chat/completions", token("u2"));
  EXPECT_EQ(status_of(v1), 502) << v1;
}

TEST_F(ChatTest, OpenAiStreamNonStreamModelsAndStatusCodes) {
  store->accounts().grant("u3", 10, "glm-4");
  start();
  auto sse = chat_request("/v1/chat/completions", token("u3"), "glm-4", R"(,"stream":true)");
  std::string text = dechunk(body_of(sse));
  EXPECT_NE(text.find("data: {"), std::string::npos) << text;
  EXPECT_NE(text.find("\"content\":\"Hel\""), std::string::npos);
  EXPECT_TRUE(text.ends_with("data: [DONE]\n\n")) << text;
  auto whole = json_of(chat_request("/v1/chat/completions", token("u3")));
  EXPECT_EQ(whole.at("object"), "chat.completion");
  EXPECT_EQ(whole.at("choices").at(0).at("message").at("content"), "Hello");
  EXPECT_EQ(status_of(chat_request("/v1/chat/completions", "bad")), 401);
  EXPECT_EQ(status_of(chat_request("/v1/chat/completions", token("u3"), "glm-3-turbo")), 403);
  // rate_limit 3 per minute: three answered above, the fourth is refused.
  auto limited = chat_request("/v1/chat/completions", token("u3"));
  EXPECT_EQ(status_of(limited), 429) << limited;
  store->accounts().set_status("u4", store::AccountStatus::Frozen);
  store->accounts().grant("u4", 1, "");
  store->accounts().set_status("u4", store::AccountStatus::Frozen);
  EXPECT_EQ(status_of(chat_request("/v1/chat/completions", token("u4"))), 403);
  auto models = json_of(http_get(front->port(), "/v1/models"));
  EXPECT_EQ(models.at("object"), "list");
  EXPECT_EQ(models.at("data").at(0).at("id"), "glm-4");
}

// The payloads of a chunked body, one string per chunk.
std::vector<std::string> chunks_of(std::string body) {
  std::vector<std::string> chunks;
  for (;;) {
    auto eol = body.find("\r\n");
    if (eol == std::string::npos) break;
    const auto size = std::stoul(body.substr(0, eol), nullptr, 16);
    if (size == 0) break;
    chunks.push_back(body.substr(eol + 2, size));
    body.erase(0, eol + 2 + size + 2);
  }
  return chunks;
}

std::string upstream_event(const std::string& content) {
  return "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content +
         "\"}}]}\n\n";
}

// Events that reach the relay in one upstream read go to the client whole, in order and in one
// chunk (one send), also while the client's stream is idle and each piece could go straight out.
TEST_F(ChatTest, EventsOfOneUpstreamReadGoOutInOneChunk) {
  store->accounts().grant("u5", 10, "glm-4");
  relay_as_the_daemon = true;
  start();
  for (const std::string path : {"/api/v1/chatgpt/chat/completions", "/v1/chat/completions"}) {
    SCOPED_TRACE(path);
    std::promise<ExchangePtr> held;
    {
      std::lock_guard lock(held_mutex);
      held_upstream = &held;
    }
    const std::string body =
        R"({"model":"glm-4","stream":true,"messages":[{"role":"user","content":"hi"}]})";
    testing::SocketClient client(front->port());
    ASSERT_TRUE(client.send("POST " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                            token("u5") + "\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body));
    auto upstream_future = held.get_future();
    ASSERT_EQ(upstream_future.wait_for(5s), std::future_status::ready);
    auto up = upstream_future.get();
    up->start_stream(200, "text/event-stream");
    up->write(upstream_event("first"));
    std::string all = client.read_until("first");
    // The client's stream is idle now; three events come in one upstream write.
    up->write(upstream_event("second") + upstream_event("third") + upstream_event("fourth"));
    all += client.read_until("fourth");
    up->write(
        "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},"
        "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    up->finish();
    all += client.read_all();
    const auto chunks = chunks_of(body_of(all));
    auto with_second = std::find_if(chunks.begin(), chunks.end(), [](const std::string& c) {
      return c.find("second") != std::string::npos;
    });
    ASSERT_NE(with_second, chunks.end()) << all;
    if (path.starts_with("/v1")) {
      // Each event whole: its own data line with its own piece, in order.
      std::vector<std::string> contents;
      std::size_t at = 0;
      while ((at = with_second->find("data: ", at)) != std::string::npos) {
        auto end = with_second->find("\n\n", at);
        ASSERT_NE(end, std::string::npos) << *with_second;
        auto event = boost::json::parse(with_second->substr(at + 6, end - at - 6));
        contents.emplace_back(event.at("choices").at(0).at("delta").at("content").as_string());
        at = end + 2;
      }
      EXPECT_EQ(contents, (std::vector<std::string>{"second", "third", "fourth"})) << *with_second;
    } else {
      EXPECT_EQ(*with_second, "secondthirdfourth");
    }
  }
}

}  // namespace
}  // namespace chatglmd::http
