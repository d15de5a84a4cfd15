// alipay.trade.refund and alipay.trade.fastpay.refund.query: the request bytes we sign, and what
// every kind of signed (or unsigned, or damaged) answer means.
#include "pay/alipay_refund.hpp"

#include <gtest/gtest.h>

#include "pay/alipay_request.hpp"
#include "test_keys.hpp"

namespace chatglmd::pay {
namespace {

using RK = RefundResult::Kind;
using QK = RefundQueryResult::Kind;

const RefundRequest kRefund{"123456789012", "RF123456789012", core::Fen{999}, "客户投诉 A&B", "T1"};

struct Refunds : ::testing::Test {
  RsaSigner ali = test::signer("ali_pkcs1.pem");
  RsaVerifier ali_pub = test::verifier("ali_pub.pem");

  std::string signed_body(std::string_view key, std::string_view payload) {
    return "{\"" + std::string(key) + "\":" + std::string(payload) + ",\"sign\":\"" +
           ali.sign(payload) + "\"}";
  }
  RefundResult refund(std::string_view payload, int status = 200) {
    return interpret_refund(
        verify_reply(status, signed_body("alipay_trade_refund_response", payload), kMethodRefund,
                     ali_pub),
        kRefund);
  }
  RefundQueryResult query(std::string_view payload) {
    return interpret_refund_query(
        verify_reply(200, signed_body("alipay_trade_fastpay_refund_query_response", payload),
                     kMethodRefundQuery, ali_pub),
        kRefund);
  }
};

TEST_F(Refunds, BizContentCarriesTheFourFieldsInYuan) {
  EXPECT_EQ(refund_biz_content(kRefund),
            R"({"out_trade_no":"123456789012","refund_amount":"9.99",)"
            R"("out_request_no":"RF123456789012","refund_reason":"客户投诉 A&B"})");
  RefundRequest no_reason = kRefund;
  no_reason.reason.clear();
  EXPECT_EQ(refund_biz_content(no_reason).find("refund_reason"), std::string::npos)
      << "empty params are never sent";
  EXPECT_EQ(refund_query_biz_content("123456789012", "RF123456789012"),
            R"({"out_trade_no":"123456789012","out_request_no":"RF123456789012"})");
}

TEST_F(Refunds, TheRequestIsSignedLikeEveryOtherCall) {
  AlipayConfig c;
  c.gateway = "https://openapi.alipay.com/gateway.do";
  c.app_id = "2021000000000001";
  core::ManualClock clock(core::UtcMs{1704135845000});  // 2024-01-02 03:04:05 GMT+8
  AlipayRequestBuilder b(c, test::signer("app_pkcs1.pem"), clock);
  const auto req = b.refund(kRefund);
  EXPECT_EQ(req.method, "POST");
  EXPECT_NE(req.url.find("method=alipay.trade.refund"), std::string::npos);
  EXPECT_NE(req.body.find("biz_content="), std::string::npos);
  const auto signed_request = b.sign(kMethodRefund, refund_biz_content(kRefund), false, false);
  EXPECT_EQ(signed_request.sign_content,
            "app_id=2021000000000001&biz_content=" + refund_biz_content(kRefund) +
                "&charset=utf-8&method=alipay.trade.refund&sign_type=RSA2&timestamp=2024-01-02 "
                "03:04:05&version=1.0");
  const auto sign = find_param(signed_request.query, "sign");
  ASSERT_TRUE(sign);
  EXPECT_TRUE(test::verifier("app_pub.pem").verify(signed_request.sign_content, *sign));
  EXPECT_NE(b.refund_query("123456789012", "RF123456789012")
                .url.find("method=alipay.trade.fastpay.refund.query"),
            std::string::npos);
}

TEST_F(Refunds, FundChangeYIsARefundAndNIsAResend) {
  auto y = refund(
      R"({"code":"10000","msg":"Success","fund_change":"Y","out_trade_no":"123456789012","refund_fee":"9.99","trade_no":"T1"})");
  EXPECT_EQ(y.kind, RK::Refunded) << y.detail;
  EXPECT_EQ(y.refund_fee, core::Fen{999});
  auto n = refund(
      R"({"code":"10000","msg":"Success","fund_change":"N","out_trade_no":"123456789012","refund_fee":"9.99"})");
  EXPECT_EQ(n.kind, RK::NoFundChange) << "not an error: the query confirms it";
}

TEST_F(Refunds, DefinitiveRefusalsAreRefusedAndEverythingElseIsUnclear) {
  for (const char* code : {"ACQ.TRADE_HAS_FINISHED", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                           "ACQ.TRADE_NOT_ALLOW_REFUND", "ACQ.TRADE_STATUS_ERROR"}) {
    auto r = refund(std::string(R"({"code":"40004","msg":"Business Failed","sub_code":")") + code +
                    R"(","sub_msg":"x"})");
    EXPECT_EQ(r.kind, RK::Refused) << code;
  }
  for (const char* code : {"ACQ.SYSTEM_ERROR", "ACQ.SELLER_BALANCE_NOT_ENOUGH"}) {
    auto r = refund(std::string(R"({"code":"40004","msg":"Business Failed","sub_code":")") + code +
                    R"("})");
    EXPECT_EQ(r.kind, RK::Unclear) << code << ": retried, never given up";
  }
  EXPECT_EQ(refund(R"({"code":"20000","msg":"Service Currently Unavailable"})").kind, RK::Unclear);
  EXPECT_EQ(
      refund(
          R"({"code":"10000","msg":"Success","fund_change":"Y","out_trade_no":"999999999999","refund_fee":"9.99"})")
          .kind,
      RK::Unclear)
      << "an answer about another trade";
  EXPECT_EQ(
      refund(R"({"code":"10000","msg":"Success","fund_change":"Y","out_trade_no":"123456789012"})")
          .kind,
      RK::Unclear)
      << "no refund_fee";
  EXPECT_EQ(refund(R"({"code":"10000","fund_change":"Y","refund_fee":"9.99"})", 502).kind,
            RK::Unclear);
}

TEST_F(Refunds, AForgedOrUnsignedAnswerIsUnclear) {
  const std::string payload =
      R"({"code":"10000","msg":"Success","fund_change":"Y","out_trade_no":"123456789012","refund_fee":"9.99"})";
  std::string forged = signed_body("alipay_trade_refund_response", payload);
  forged.replace(forged.find("9.99"), 4, "0.01");
  EXPECT_EQ(interpret_refund(verify_reply(200, forged, kMethodRefund, ali_pub), kRefund).kind,
            RK::Unclear);
  const std::string unsigned_body = "{\"alipay_trade_refund_response\":" + payload + "}";
  EXPECT_EQ(
      interpret_refund(verify_reply(200, unsigned_body, kMethodRefund, ali_pub), kRefund).kind,
      RK::Unclear);
  // A genuine answer for the query method is not an answer to the refund.
  const std::string other = signed_body("alipay_trade_query_response", payload);
  EXPECT_EQ(interpret_refund(verify_reply(200, other, kMethodRefund, ali_pub), kRefund).kind,
            RK::Unclear);
}

TEST_F(Refunds, OnlyRefundSuccessConfirmsAQueriedRefund) {
  auto ok = query(
      R"({"code":"10000","msg":"Success","out_request_no":"RF123456789012","out_trade_no":"123456789012","refund_amount":"9.99","refund_status":"REFUND_SUCCESS","total_amount":"9.99"})");
  EXPECT_EQ(ok.kind, QK::Succeeded) << ok.detail;
  EXPECT_EQ(ok.refund_amount, core::Fen{999});
  auto none = query(
      R"({"code":"10000","msg":"Success","out_request_no":"RF123456789012","out_trade_no":"123456789012","total_amount":"9.99"})");
  EXPECT_EQ(none.kind, QK::NotRefunded) << "Alipay never got it, or did not make it";
  EXPECT_EQ(
      query(R"({"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST"})").kind,
      QK::Unclear)
      << "an error names no trade: it may answer another call, and NotRefunded fails a refund";
  EXPECT_EQ(query(R"({"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR"})").kind,
            QK::Unclear);
  EXPECT_EQ(
      query(
          R"({"code":"10000","out_request_no":"RF999999999999","out_trade_no":"123456789012","refund_amount":"9.99","refund_status":"REFUND_SUCCESS"})")
          .kind,
      QK::Unclear)
      << "an answer about another refund";
  EXPECT_EQ(
      query(
          R"({"code":"10000","out_request_no":"RF123456789012","out_trade_no":"123456789012","refund_status":"REFUND_SUCCESS"})")
          .kind,
      QK::Unclear)
      << "REFUND_SUCCESS without an amount";
}

// A signed answer verifies whichever call it answered: only the echoed fields say it is ours.
TEST_F(Refunds, AnAnswerThatDoesNotSayItIsAboutThisRefundIsUnclear) {
  EXPECT_EQ(refund(R"({"code":"10000","fund_change":"Y","refund_fee":"9.99"})").kind, RK::Unclear)
      << "no out_trade_no";
  EXPECT_EQ(
      refund(
          R"({"code":"10000","fund_change":"Y","out_trade_no":"123456789012","refund_fee":"9.99","trade_no":"T2"})")
          .kind,
      RK::Unclear)
      << "another trade_no";
  EXPECT_EQ(
      query(
          R"({"code":"10000","out_trade_no":"123456789012","refund_amount":"9.99","refund_status":"REFUND_SUCCESS"})")
          .kind,
      QK::Unclear)
      << "no out_request_no";
  EXPECT_EQ(
      query(
          R"({"code":"10000","out_request_no":"RF123456789012","refund_amount":"9.99","refund_status":"REFUND_SUCCESS"})")
          .kind,
      QK::Unclear)
      << "no out_trade_no";
  EXPECT_EQ(query(R"({"code":"10000","out_trade_no":"123456789012"})").kind, QK::Unclear)
      << "a bare answer is no proof that Alipay never made the refund";
  EXPECT_EQ(
      query(
          R"({"code":"10000","out_request_no":"RF123456789012","out_trade_no":"123456789012","refund_amount":"9.99","refund_status":"REFUND_SUCCESS","trade_no":"T2"})")
          .kind,
      QK::Unclear)
      << "another trade_no";
}

}  // namespace
}  // namespace chatglmd::pay
