#include "pay/alipay_request.hpp"

#include <gtest/gtest.h>

#include "alipay_vectors.hpp"
#include "pay/alipay_time.hpp"
#include "test_keys.hpp"

namespace chatglmd::pay {
namespace {

AlipayConfig vector_config() {
  AlipayConfig c;
  c.gateway = "https://openapi.alipay.com/gateway.do";
  c.app_id = "2021000000000001";
  c.notify_url = "https://example.com/alipay/notify";
  c.return_url = "https://example.com/return?a=1&b=2";
  return c;
}

struct Fixture : ::testing::Test {
  core::ManualClock clock{core::UtcMs{vectors::kV1TimestampMs}};
  AlipayRequestBuilder builder{vector_config(), test::signer("app_pkcs1.pem"), clock};
  RsaVerifier app_pub = test::verifier("app_pub.pem");

  // All params of a request (query + body), decoded.
  static Params decode_all(const net::HttpRequest& req) {
    const auto q = req.url.find('?');
    auto params = form_decode(req.url.substr(q + 1)).value();
    auto body = form_decode(req.body).value();
    params.insert(params.end(), body.begin(), body.end());
    return params;
  }
  void expect_signed(const Params& params) {
    const auto sign = find_param(params, "sign");
    ASSERT_TRUE(sign);
    EXPECT_TRUE(app_pub.verify(sign_content(params, EmptyValues::Drop), *sign));
  }
};

TEST_F(Fixture, Vector1SignContentAndSignatureByteForByte) {
  const SignedRequest r =
      builder.sign(kMethodPagePay, std::string(vectors::kV1BizContent), true, true);
  EXPECT_EQ(r.sign_content, vectors::kV1SignContent);
  EXPECT_EQ(find_param(r.query, "sign"), std::string(vectors::kV1Sign));
  EXPECT_FALSE(find_param(r.query, "format"));
  EXPECT_EQ(find_param(r.body, "biz_content"), std::string(vectors::kV1BizContent));
}

TEST_F(Fixture, PagePayBizContentMatchesVector1) {
  TradeSpec trade{"ORDER-0001", core::Fen{8888}, "测试商品 A&B"};
  EXPECT_EQ(page_pay_biz_content(trade), vectors::kV1BizContent);
  trade.time_expire = core::UtcMs{vectors::kV1TimestampMs};  // 2024-01-02 03:04:05 in Beijing
  EXPECT_EQ(
      page_pay_biz_content(trade),
      R"({"out_trade_no":"ORDER-0001","total_amount":"88.88","subject":"测试商品 A&B","product_code":"FAST_INSTANT_TRADE_PAY","time_expire":"2024-01-02 03:04:05"})");
  // JSON escaping of quotes happens inside the JSON text, and is what gets signed.
  EXPECT_EQ(
      precreate_biz_content({"X1", core::Fen{5}, "a\"b", core::UtcMs{0}}),
      R"({"out_trade_no":"X1","total_amount":"0.05","subject":"a\"b","time_expire":"1970-01-01 08:00:00"})");
}

TEST_F(Fixture, TimestampIsBeijingTimeFromTheInjectedClock) {
  clock.set(core::UtcMs{0});
  auto r = builder.sign(kMethodQuery, "{}", false, false);
  EXPECT_EQ(find_param(r.query, "timestamp"), "1970-01-01 08:00:00");
}

TEST_F(Fixture, PagePayFormAutoSubmitsASignedForm) {
  const std::string html =
      builder.page_pay_form(TradeSpec{"ORDER-0001", core::Fen{8888}, "测试商品 A&B"});
  // biz_content as a hidden input with " as &quot; (and & as &amp;, which a browser decodes back).
  EXPECT_NE(
      html.find(
          R"(name="biz_content" value="{&quot;out_trade_no&quot;:&quot;ORDER-0001&quot;,&quot;total_amount&quot;:&quot;88.88&quot;,&quot;subject&quot;:&quot;测试商品 A&amp;B&quot;)"),
      std::string::npos)
      << html;
  EXPECT_NE(html.find("<script>document.forms[\"alipay_submit\"].submit();</script>"),
            std::string::npos);
  // The action carries the common params and the sign; the sign it carries is the vector's.
  const auto a = html.find("action=\"") + 8;
  std::string action = html.substr(a, html.find('"', a) - a);
  for (std::size_t p; (p = action.find("&amp;")) != std::string::npos;) action.replace(p, 5, "&");
  ASSERT_EQ(action.rfind("https://openapi.alipay.com/gateway.do?", 0), 0u) << action;
  const Params q = form_decode(action.substr(action.find('?') + 1)).value();
  EXPECT_EQ(find_param(q, "sign"), std::string(vectors::kV1Sign));
  EXPECT_EQ(find_param(q, "return_url"), "https://example.com/return?a=1&b=2");
  EXPECT_FALSE(find_param(q, "biz_content"));
}

TEST_F(Fixture, PagePayUrlCarriesEverythingInTheQuery) {
  const std::string url =
      builder.page_pay_url(TradeSpec{"ORDER-0001", core::Fen{8888}, "测试商品 A&B"});
  const Params q = form_decode(url.substr(url.find('?') + 1)).value();
  EXPECT_EQ(find_param(q, "biz_content"), std::string(vectors::kV1BizContent));
  EXPECT_EQ(find_param(q, "sign"), std::string(vectors::kV1Sign));
  // Nothing raw that would break the query: no space, no raw &, no raw non-ASCII.
  for (unsigned char c : url.substr(url.find('?'))) EXPECT_TRUE(c > 0x20 && c < 0x7f);
}

TEST_F(Fixture, ServerCallsArePostsWithFormBodyAndSignedQuery) {
  core::Order order;
  order.order_id = "202401020001";
  order.amount = core::Fen{999};
  order.product_name = "100 chats";
  order.order_time = core::UtcMs{vectors::kV1TimestampMs};
  auto config = vector_config();
  config.return_url = "";
  AlipayRequestBuilder b(config, test::signer("app_pkcs8.pem"), clock);

  const net::HttpRequest pre = b.precreate(order);
  EXPECT_EQ(pre.method, "POST");
  ASSERT_EQ(pre.headers.size(), 2u);
  EXPECT_EQ(pre.headers[0].second, "application/x-www-form-urlencoded;charset=UTF-8");
  EXPECT_EQ(pre.body.rfind("biz_content=", 0), 0u);
  const Params p = decode_all(pre);
  expect_signed(p);
  EXPECT_EQ(find_param(p, "method"), "alipay.trade.precreate");
  EXPECT_EQ(find_param(p, "notify_url"), "https://example.com/alipay/notify");
  EXPECT_FALSE(find_param(p, "return_url"));  // empty: never sent
  EXPECT_EQ(
      find_param(p, "biz_content"),
      R"({"out_trade_no":"202401020001","total_amount":"9.99","subject":"100 chats","time_expire":"2024-01-02 03:34:05"})");

  for (const auto& [req, method] : {std::pair{b.query("202401020001"), "alipay.trade.query"},
                                    std::pair{b.close("202401020001"), "alipay.trade.close"}}) {
    const Params q = decode_all(req);
    expect_signed(q);
    EXPECT_EQ(find_param(q, "method"), method);
    EXPECT_EQ(find_param(q, "biz_content"), R"({"out_trade_no":"202401020001"})");
    EXPECT_FALSE(find_param(q, "notify_url"));
    for (const auto& [k, v] : q) EXPECT_FALSE(v.empty()) << k;
  }
}

// Both pay modes carry an absolute time_expire: order time + the close threshold, Beijing time,
// in the signed biz_content; the relative timeout_express is gone.
TEST_F(Fixture, PagePayAndPrecreateCarryTimeExpireFromTheOrderTimeAndCloseThreshold) {
  core::Order order;
  order.order_id = "202401020002";
  order.amount = core::Fen{999};
  order.product_name = "100 chats";
  // 2024-01-02 03:04:05.750 in Beijing; the fraction is cut, never rounded up.
  order.order_time = core::UtcMs{vectors::kV1TimestampMs + 750};
  auto config = vector_config();
  config.close_after = std::chrono::minutes(45);
  AlipayRequestBuilder b(config, test::signer("app_pkcs8.pem"), clock);
  clock.advance(std::chrono::hours(5));  // the request time does not matter, the order time does

  const std::string want = "2024-01-02 03:49:05";
  const Params pre = decode_all(b.precreate(order));
  expect_signed(pre);
  const std::string pre_biz = find_param(pre, "biz_content").value();
  EXPECT_NE(pre_biz.find(R"("time_expire":")" + want + "\""), std::string::npos) << pre_biz;
  EXPECT_EQ(pre_biz.find("timeout_express"), std::string::npos) << pre_biz;

  const std::string url = b.page_pay_url(order);
  const Params page = form_decode(url.substr(url.find('?') + 1)).value();
  expect_signed(page);
  const std::string page_biz = find_param(page, "biz_content").value();
  EXPECT_NE(page_biz.find(R"("time_expire":")" + want + "\""), std::string::npos) << page_biz;
  EXPECT_EQ(page_biz.find("timeout_express"), std::string::npos) << page_biz;

  // The auto-submit form posts the same biz_content.
  const std::string html = b.page_pay_form(order);
  EXPECT_NE(html.find("&quot;time_expire&quot;:&quot;" + want + "&quot;"), std::string::npos)
      << html;
  EXPECT_EQ(b.trade_of(order).time_expire, time_expire_of(order.order_time, config.close_after));
}

TEST(AlipayTime, TimeExpireIsCutToWholeSecondsAndReadsBackInBeijingTime) {
  const core::UtcMs t = time_expire_of(core::UtcMs{1'700'000'000'999}, std::chrono::minutes(30));
  EXPECT_EQ(t, core::UtcMs{1'700'001'800'000});
  EXPECT_EQ(format_alipay_time(t), "2023-11-15 06:43:20");
  EXPECT_EQ(parse_alipay_time(format_alipay_time(t)), t);
}

TEST(SignContent, SortsDropsEmptiesAndExcludesOnlySign) {
  const Params p = {{"b", "2"}, {"sign", "x"}, {"a", "1"}, {"sign_type", "RSA2"}, {"c", ""}};
  EXPECT_EQ(sign_content(p, EmptyValues::Drop), "a=1&b=2&sign_type=RSA2");
  EXPECT_EQ(sign_content(p, EmptyValues::Keep), "a=1&b=2&c=&sign_type=RSA2");
}

TEST(FormCodec, DecodesPlusAsSpaceOnceAndRefusesMalformed) {
  auto p = form_decode("a=1+2&b=%2B%25&c=&d");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 4u);
  EXPECT_EQ((*p)[0].second, "1 2");
  EXPECT_EQ((*p)[1].second, "+%");
  EXPECT_EQ((*p)[2].second, "");
  EXPECT_FALSE(form_decode("a=%2"));
  EXPECT_FALSE(form_decode("a=%zz"));
  const Params round = {{"k", "测试 A&B+100%=?"}};
  EXPECT_EQ(form_decode(form_encode(round)), round);
}

}  // namespace
}  // namespace chatglmd::pay
