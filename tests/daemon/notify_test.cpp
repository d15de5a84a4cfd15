// Bad payment notifies through the daemon's notify endpoint, signed (or not) with the test
// "Alipay" key the way Alipay signs them. Each gets `success`, `fail` or 413 as documented and
// changes nothing it must not: order state, audit log, quota; pay_notify keeps verified notifies
// (also rejected ones) and never unverified text; rejections are counted by reason.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "daemon/daemon_client.hpp"
#include "pay/alipay_notify.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::testing {
namespace {

const std::string kNotifyPath = "/api/v1/sale/pay_notify";
const std::string kAlipayContentType =
    "application/x-www-form-urlencoded; text/html; charset=utf-8";

pay::RsaSigner load_signer(const std::string& fixture_name) {
  auto s = pay::RsaSigner::from_text(read_file(fixture(fixture_name)));
  if (!s) throw std::runtime_error("cannot load " + fixture_name);
  return *s;
}

// What the daemon's store says about one order: its state and its audit trail.
struct OrderView {
  std::string status;
  std::size_t events = 0;
  bool operator==(const OrderView&) const = default;
};

struct Notifies : ::testing::Test {
  static void SetUpTestSuite() {
    daemon = new DaemonHarness();
    run_ok(*daemon, {"product", "add", "--id", "1002", "--name", "100 chats", "--price", "9.99",
                     "--quota", "100", "--models", "glm-4"});
  }
  static void TearDownTestSuite() {
    delete daemon;
    daemon = nullptr;
  }

  // A fresh CREATED order of 9.99 for `openid`, made the way the page makes it.
  std::string new_order(const std::string& openid) {
    auto created = boost::json::parse(
        d.post_form("/api/v1/sale/create_pay_order", "productId=1002", d.token_for(openid)).body);
    EXPECT_EQ(created.at("code").as_string(), "0000") << created;
    auto orders =
        boost::json::parse(d.cli({"order", "list", "--user", openid, "--json"}).out).as_array();
    EXPECT_EQ(orders.size(), 1u);
    return std::string(orders.at(0).at("orderId").as_string());
  }
  OrderView view(const std::string& order_id) {
    auto o = boost::json::parse(d.cli({"order", "show", order_id, "--json"}).out);
    return {std::string(o.at("status").as_string()), o.at("events").as_array().size()};
  }
  // The fields Alipay sends for a paid trade, as a map the cases change.
  pay::Params fields(const std::string& order_id, const std::string& notify_id) {
    return {{"notify_time", "2024-01-02 03:04:16"},
            {"notify_type", "trade_status_sync"},
            {"notify_id", notify_id},
            {"app_id", DaemonHarness::kAppId},
            {"charset", "utf-8"},
            {"version", "1.0"},
            {"trade_no", "2024010222001446880500" + notify_id.substr(notify_id.size() - 6)},
            {"out_trade_no", order_id},
            {"buyer_id", "2088102177846880"},
            {"seller_id", DaemonHarness::kSellerId},
            {"trade_status", "TRADE_SUCCESS"},
            {"total_amount", "9.99"},
            {"receipt_amount", "9.99"},
            {"subject", "100 chats"},
            {"gmt_create", "2024-01-02 03:04:10"},
            {"gmt_payment", "2024-01-02 03:04:15"}};
  }
  static void set(pay::Params& p, const std::string& key, const std::string& value) {
    for (auto& [k, v] : p)
      if (k == key) v = value;
  }
  std::string sign(const pay::Params& p) { return pay::sign_notify_body(p, alipay_key); }
  HttpReply post(const std::string& body) {
    return d.request("POST", kNotifyPath, body,
                     {{"Content-Type", kAlipayContentType}, {"User-Agent", "Mozilla/4.0"}});
  }
  double rejected(const std::string& reason) {
    return metric_value(d, "chatglmd_notify_rejected_total{reason=\"" + reason + "\"}");
  }
  std::int64_t notify_rows(const std::string& notify_id) {
    return sql_int(d.db(), "SELECT count(*) FROM pay_notify WHERE notify_id='" + notify_id + "'");
  }
  std::string verdict_of(const std::string& notify_id) {
    auto rows =
        sql_rows(d.db(), "SELECT verdict FROM pay_notify WHERE notify_id='" + notify_id + "'");
    return rows.empty() ? "" : rows[0][0];
  }
  std::int64_t all_events() { return sql_int(d.db(), "SELECT count(*) FROM order_event"); }

  // A notify the merchant checks must refuse: `fail`, kept with its verdict, counted, and the
  // order, the audit log and the buyer's quota untouched.
  void expect_rejected_and_kept(const std::string& order_id, const std::string& openid,
                                const pay::Params& p, const std::string& reason) {
    SCOPED_TRACE(reason);
    const std::string notify_id = *pay::find_param(p, "notify_id");
    const OrderView before = view(order_id);
    const auto events_before = all_events();
    const double counted = rejected(reason);
    auto r = post(sign(p));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "fail");
    EXPECT_EQ(view(order_id), before);
    EXPECT_EQ(all_events(), events_before);
    EXPECT_TRUE(user_json(d, openid).is_null()) << "quota was delivered";
    EXPECT_EQ(notify_rows(notify_id), 1);
    EXPECT_EQ(verdict_of(notify_id), reason);
    EXPECT_EQ(rejected(reason), counted + 1);
  }
  // Text that does not verify: `fail`, not stored, counted as a bad signature, nothing moves.
  void expect_refused_unstored(const std::string& order_id, const std::string& body,
                               const std::string& notify_id, const std::string& what) {
    SCOPED_TRACE(what);
    const OrderView before = view(order_id);
    const auto events_before = all_events();
    const double counted = rejected("bad_signature");
    const auto rows_before = sql_int(d.db(), "SELECT count(*) FROM pay_notify");
    auto r = post(body);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "fail");
    EXPECT_EQ(view(order_id), before);
    EXPECT_EQ(all_events(), events_before);
    EXPECT_EQ(notify_rows(notify_id), 0);
    EXPECT_EQ(sql_int(d.db(), "SELECT count(*) FROM pay_notify"), rows_before);
    EXPECT_EQ(rejected("bad_signature"), counted + 1);
  }

  static DaemonHarness* daemon;
  DaemonHarness& d = *daemon;
  pay::RsaSigner alipay_key = load_signer("ali_pkcs1.pem");
};
DaemonHarness* Notifies::daemon = nullptr;

TEST_F(Notifies, ForgedAlteredAndTruncatedNotifiesAreNotStored) {
  const std::string order_id = new_order("buyer-forged");
  ASSERT_EQ(view(order_id).status, "CREATED");

  // Signed with the merchant's own key instead of Alipay's.
  auto p = fields(order_id, "forged-000001");
  expect_refused_unstored(order_id, pay::sign_notify_body(p, load_signer("app_pkcs1.pem")),
                          "forged-000001", "signed with another key");

  // A real signature over other values: the amount raised after signing.
  p = fields(order_id, "altered-000002");
  set(p, "total_amount", "0.01");
  std::string cheap = sign(p);
  std::string altered = cheap;
  altered.replace(altered.find("total_amount=0.01"), 17, "total_amount=9.99");
  expect_refused_unstored(order_id, altered, "altered-000002", "amount changed after signing");

  // No signature at all, and the signature alone removed.
  p = fields(order_id, "unsigned-000003");
  expect_refused_unstored(order_id, pay::form_encode(p), "unsigned-000003", "unsigned");

  // A good notify cut in half (the signature is lost or broken).
  p = fields(order_id, "truncated-04");
  std::string whole = sign(p);
  expect_refused_unstored(order_id, whole.substr(0, whole.size() / 2), "truncated-04",
                          "first half");
  expect_refused_unstored(order_id, whole.substr(0, whole.size() - 10), "truncated-04",
                          "last bytes cut");
  expect_refused_unstored(order_id, "", "", "empty body");
  expect_refused_unstored(order_id, "%zz%%&&==", "", "not a form");

  EXPECT_EQ(view(order_id).status, "CREATED");
  EXPECT_TRUE(user_json(d, "buyer-forged").is_null());
}

TEST_F(Notifies, VerifiedNotifiesThatFailAMerchantCheckAreKeptAndCounted) {
  const std::string order_id = new_order("buyer-checks");

  auto p = fields(order_id, "wrong-app-000010");
  set(p, "app_id", "2021000000009999");
  expect_rejected_and_kept(order_id, "buyer-checks", p, "wrong_app");

  p = fields(order_id, "wrong-seller-11");
  set(p, "seller_id", "2088000000000000");
  expect_rejected_and_kept(order_id, "buyer-checks", p, "wrong_seller");

  p = fields(order_id, "one-fen-less-12");
  set(p, "total_amount", "9.98");
  expect_rejected_and_kept(order_id, "buyer-checks", p, "wrong_amount");

  p = fields(order_id, "one-fen-more-13");
  set(p, "total_amount", "10.00");
  expect_rejected_and_kept(order_id, "buyer-checks", p, "wrong_amount");

  p = fields(order_id, "not-an-amount-14");
  set(p, "total_amount", "9.99.1");
  expect_rejected_and_kept(order_id, "buyer-checks", p, "wrong_amount");

  p = fields("999999999999999", "unknown-order-15");
  expect_rejected_and_kept(order_id, "buyer-checks", p, "unknown_order");
  EXPECT_EQ(d.cli({"order", "show", "999999999999999"}).exit_code,
            1);  // nothing was created for it

  // The same rejected notify again: still `fail`, still one row (seen twice), counted again.
  p = fields(order_id, "one-fen-less-12");
  set(p, "total_amount", "9.98");
  const double counted = rejected("wrong_amount");
  EXPECT_EQ(post(sign(p)).body, "fail");
  EXPECT_EQ(notify_rows("one-fen-less-12"), 1);
  EXPECT_EQ(sql_int(d.db(), "SELECT times_seen FROM pay_notify WHERE notify_id='one-fen-less-12'"),
            2);
  EXPECT_EQ(rejected("wrong_amount"), counted + 1);

  // After all that, the real notify still settles the order.
  auto r = post(sign(fields(order_id, "the-real-one-16")));
  EXPECT_EQ(r.body, "success");
  EXPECT_EQ(view(order_id).status, "DELIVERED");
  EXPECT_EQ(surplus_quota(d, "buyer-checks"), 100);
}

TEST_F(Notifies, ADuplicatedNotifyIsAnsweredSuccessAndDeliversOnce) {
  const std::string order_id = new_order("buyer-dup");
  const std::string body = sign(fields(order_id, "dup-000020"));
  const double handled = metric_value(d, "chatglmd_notify_handled_total");
  auto first = post(body);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "success");
  const OrderView settled = view(order_id);
  EXPECT_EQ(settled.status, "DELIVERED");
  EXPECT_EQ(surplus_quota(d, "buyer-dup"), 100);
  const auto events = all_events();

  for (int i = 0; i < 3; ++i) {
    auto again = post(body);
    EXPECT_EQ(again.body, "success");  // or Alipay keeps re-sending for a day
  }
  EXPECT_EQ(view(order_id), settled);
  EXPECT_EQ(all_events(), events);
  EXPECT_EQ(surplus_quota(d, "buyer-dup"), 100);
  EXPECT_EQ(notify_rows("dup-000020"), 1);
  EXPECT_EQ(sql_int(d.db(), "SELECT times_seen FROM pay_notify WHERE notify_id='dup-000020'"), 4);
  EXPECT_EQ(verdict_of("dup-000020"), "ok");
  EXPECT_EQ(metric_value(d, "chatglmd_notify_handled_total"), handled + 4);

  // Another notify_id for the same payment (Alipay's TRADE_FINISHED later) delivers nothing more.
  auto p = fields(order_id, "dup-finished-21");
  set(p, "trade_status", "TRADE_FINISHED");
  EXPECT_EQ(post(sign(p)).body, "success");
  EXPECT_EQ(surplus_quota(d, "buyer-dup"), 100);
  EXPECT_EQ(all_events(), events);
}

TEST_F(Notifies, OverlappingResendsDeliverOnce) {
  // Alipay re-sends while the first attempt is still being handled (our reply was slow).
  const std::string order_id = new_order("buyer-overlap");
  const std::string body = sign(fields(order_id, "overlap-000025"));
  std::vector<std::string> replies(8);
  std::vector<std::thread> senders;
  for (std::size_t i = 0; i < replies.size(); ++i)
    senders.emplace_back([&, i] { replies[i] = post(body).body; });
  for (auto& t : senders) t.join();
  for (const auto& r : replies) EXPECT_EQ(r, "success");
  EXPECT_EQ(view(order_id).status, "DELIVERED");
  EXPECT_EQ(surplus_quota(d, "buyer-overlap"), 100);
  EXPECT_EQ(notify_rows("overlap-000025"), 1);
  EXPECT_EQ(sql_int(d.db(), "SELECT times_seen FROM pay_notify WHERE notify_id='overlap-000025'"),
            8);
  // CREATED -> PAID -> DELIVERED, each once.
  EXPECT_EQ(sql_int(d.db(), "SELECT count(*) FROM order_event WHERE order_id='" + order_id + "'"),
            3);
}

TEST_F(Notifies, StatusesThatAreNoPayment) {
  const std::string order_id = new_order("buyer-waiting");
  auto p = fields(order_id, "waiting-000030");
  set(p, "trade_status", "WAIT_BUYER_PAY");
  const auto events = all_events();
  EXPECT_EQ(post(sign(p)).body, "success");  // nothing to do, nothing to re-send
  EXPECT_EQ(view(order_id).status, "CREATED");
  EXPECT_EQ(all_events(), events);

  p = fields(order_id, "closed-000031");
  set(p, "trade_status", "TRADE_CLOSED");
  EXPECT_EQ(post(sign(p)).body, "success");
  EXPECT_EQ(view(order_id).status, "CLOSED");
  EXPECT_EQ(all_events(), events + 1);
  EXPECT_TRUE(user_json(d, "buyer-waiting").is_null());
}

TEST_F(Notifies, APaymentAfterTheCloseIsStillDelivered) {
  const std::string order_id = new_order("buyer-late");
  auto p = fields(order_id, "late-closed-000050");
  set(p, "trade_status", "TRADE_CLOSED");
  EXPECT_EQ(post(sign(p)).body, "success");
  EXPECT_EQ(view(order_id).status, "CLOSED");
  // The buyer paid anyway (Alipay took the money before it saw the close): deliver.
  EXPECT_EQ(post(sign(fields(order_id, "late-paid-000051"))).body, "success");
  EXPECT_EQ(view(order_id).status, "DELIVERED");
  EXPECT_EQ(surplus_quota(d, "buyer-late"), 100);
}

TEST_F(Notifies, OversizedBodyGets413AndChangesNothing) {
  const std::string order_id = new_order("buyer-big");
  const OrderView before = view(order_id);
  const auto rows = sql_int(d.db(), "SELECT count(*) FROM pay_notify");
  // A signed notify padded past max_body (1 MiB by default) with one more field.
  auto p = fields(order_id, "oversized-000040");
  p.emplace_back("passback_params", std::string(1024 * 1024, 'a'));
  std::string body = sign(p);
  ASSERT_GT(body.size(), 1024u * 1024u);
  RawClient c(d.port());
  c.send("POST " + kNotifyPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + kAlipayContentType +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  c.send(body);  // may be cut short by the daemon's refusal: that is fine
  c.read_to_eof(std::chrono::seconds(5));
  EXPECT_EQ(status_of(c.received()), 413) << c.received().substr(0, 200);
  EXPECT_EQ(view(order_id), before);
  EXPECT_EQ(sql_int(d.db(), "SELECT count(*) FROM pay_notify"), rows);

  // Just under the limit is read and judged: unsigned junk of 1,000,000 bytes is a bad signature.
  const double counted = rejected("bad_signature");
  auto under = post("x=" + std::string(1'000'000 - 2, 'b'));
  EXPECT_EQ(under.status, 200);
  EXPECT_EQ(under.body, "fail");
  EXPECT_EQ(rejected("bad_signature"), counted + 1);
  EXPECT_EQ(view(order_id), before);
}

}  // namespace
}  // namespace chatglmd::testing
