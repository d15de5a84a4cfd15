#include "pay/alipay_response.hpp"

#include <gtest/gtest.h>

#include "alipay_vectors.hpp"
#include "test_keys.hpp"

namespace chatglmd::pay {
namespace {

using QK = TradeQueryResult::Kind;
using CK = TradeCloseResult::Kind;

struct Responses : ::testing::Test {
  RsaSigner ali = test::signer("ali_pkcs1.pem");
  RsaVerifier ali_pub = test::verifier("ali_pub.pem");

  // A body the way the gateway writes it: the payload text is signed as-is.
  std::string signed_body(std::string_view key, std::string_view payload) {
    return "{\"" + std::string(key) + "\":" + std::string(payload) + ",\"sign\":\"" +
           ali.sign(payload) + "\"}";
  }
  TradeQueryResult query(std::string_view payload, int status = 200) {
    return interpret_query(
        verify_reply(status, signed_body("alipay_trade_query_response", payload), kQuery, ali_pub),
        "ORDER-0001");
  }
  TradeCloseResult close(std::string_view payload) {
    return interpret_close(
        verify_reply(200, signed_body("alipay_trade_close_response", payload), kClose, ali_pub),
        "ORDER-0001");
  }
  static constexpr std::string_view kQuery = "alipay.trade.query";
  static constexpr std::string_view kClose = "alipay.trade.close";
};

TEST_F(Responses, Vector3VerifiesAndMapsToPaid) {
  const auto check = verify_reply(200, vectors::kV3Body, kQuery, ali_pub);
  ASSERT_TRUE(check.reply) << check.detail;
  const auto r = interpret_query(check, "ORDER-0001");
  EXPECT_EQ(r.kind, QK::Paid);
  EXPECT_EQ(r.trade_no, "2024010222001446880500000001");
  EXPECT_EQ(r.amount, core::Fen{8888});
  ASSERT_TRUE(r.paid_at);
  EXPECT_EQ(r.paid_at->ms, 1704135855000LL);  // 2024-01-02 03:04:15 GMT+8
}

TEST_F(Responses, Vector3SignedTextIsTheRawObject) {
  const auto raw = raw_top_level_value(vectors::kV3Body, "alipay_trade_query_response");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->front(), '{');
  EXPECT_EQ(raw->back(), '}');
  auto sign = *raw_top_level_value(vectors::kV3Body, "sign");
  sign = sign.substr(1, sign.size() - 2);  // the raw value keeps its quotes
  EXPECT_TRUE(ali_pub.verify(*raw, sign));
  EXPECT_EQ(raw->size(), vectors::kV3Body.find(",\"sign\"") - vectors::kV3Body.find(':') - 1);
}

TEST_F(Responses, Vector3AlteredOrReformattedFails) {
  std::string altered(vectors::kV3Body);
  altered.replace(altered.find("\"88.88\""), 7, "\"88.89\"");
  EXPECT_EQ(interpret_query(verify_reply(200, altered, kQuery, ali_pub), "ORDER-0001").kind,
            QK::Unclear);
  // Same JSON, one extra space inside the object: a re-serialising verifier would pass this.
  std::string spaced(vectors::kV3Body);
  spaced.replace(spaced.find("\"msg\""), 5, " \"msg\"");
  EXPECT_EQ(interpret_query(verify_reply(200, spaced, kQuery, ali_pub), "ORDER-0001").kind,
            QK::Unclear);
}

// The signature covers one copy of the answer, so the fields must be read from that copy. A body
// that carries a genuine signed answer (any signed text, e.g. a "trade does not exist") and then a
// forged one under the same key, or under the key spelt with a JSON escape, must not be read
// through the forged copy: Boost.JSON keeps the last of two equal keys.
TEST_F(Responses, ASecondForgedCopyOfTheAnswerIsNeverRead) {
  const std::string genuine =
      R"({"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST"})";
  const std::string forged =
      R"({"code":"10000","msg":"Success","out_trade_no":"ORDER-0001","trade_no":"T1","trade_status":"TRADE_SUCCESS","total_amount":"88.88"})";
  const std::string sign = ali.sign(genuine);
  for (const std::string& first :
       {std::string("alipay_trade_query_response"), std::string("error_response")}) {
    for (const std::string& second : {first, std::string("alipay_trade_query_respons\\u0065"),
                                      std::string("error_respons\\u0065")}) {
      SCOPED_TRACE(first + " then " + second);
      const std::string body = "{\"" + first + "\":" + genuine + ",\"" + second + "\":" + forged +
                               ",\"sign\":\"" + sign + "\"}";
      const auto r = interpret_query(verify_reply(200, body, kQuery, ali_pub), "ORDER-0001");
      // Either refused, or read as what was signed (the trade does not exist); never paid.
      EXPECT_TRUE(r.kind == QK::Unclear || r.kind == QK::NotExist) << r.detail;
    }
  }
}

// A `sign` member inside the answer object is data, not the signature (the node SDK's "cut at the
// last sign" would get this wrong): only the top-level `sign` counts.
TEST_F(Responses, ASignInsideTheAnswerIsNotTheSignature) {
  const std::string payload =
      R"({"code":"10000","msg":"Success","out_trade_no":"ORDER-0001","trade_status":"WAIT_BUYER_PAY","sign":"x"})";
  EXPECT_EQ(query(payload).kind, QK::Waiting);
  const std::string inner_only =
      R"({"code":"10000","msg":"Success","out_trade_no":"ORDER-0001","trade_no":"T1","trade_status":"TRADE_SUCCESS","total_amount":"88.88","sign":")" +
      ali.sign("{}") + "\"}";
  EXPECT_EQ(
      interpret_query(verify_reply(200, "{\"alipay_trade_query_response\":" + inner_only + "}",
                                   kQuery, ali_pub),
                      "ORDER-0001")
          .kind,
      QK::Unclear);
}

TEST_F(Responses, BraceMatchingIgnoresBracesAndQuotesInStrings) {
  const std::string payload =
      R"({"code":"10000","msg":"Success","out_trade_no":"ORDER-0001","trade_status":"WAIT_BUYER_PAY","note":"a } \" { \\","x":{"y":[1,{"z":"}"}]}})";
  const std::string body = "{\"sign\":\"" + ali.sign(payload) +
                           "\" , \"alipay_trade_query_response\" : " + payload + "}";
  EXPECT_EQ(raw_top_level_value(body, "alipay_trade_query_response"), payload);
  const auto r = interpret_query(verify_reply(200, body, kQuery, ali_pub), "ORDER-0001");
  EXPECT_EQ(r.kind, QK::Waiting);
}

TEST_F(Responses, EscapedSlashesVerifyEitherWay) {
  const std::string payload =
      R"({"code":"10000","msg":"Success","trade_status":"TRADE_CLOSED","u":"a\/b"})";
  std::string unescaped = payload;
  unescaped.erase(unescaped.find("\\/"), 1);
  const std::string body =
      "{\"alipay_trade_query_response\":" + payload + ",\"sign\":\"" + ali.sign(unescaped) + "\"}";
  EXPECT_EQ(interpret_query(verify_reply(200, body, kQuery, ali_pub), "ORDER-0001").kind,
            QK::Closed);
}

TEST_F(Responses, QueryMapsEveryTradeStatusAndSubCode) {
  EXPECT_EQ(
      query(
          R"({"code":"10000","msg":"Success","out_trade_no":"ORDER-0001","trade_status":"WAIT_BUYER_PAY"})")
          .kind,
      QK::Waiting);
  EXPECT_EQ(query(R"({"code":"10000","msg":"Success","trade_status":"TRADE_CLOSED"})").kind,
            QK::Closed);
  const auto finished = query(
      R"({"code":"10000","msg":"Success","trade_no":"T9","trade_status":"TRADE_FINISHED","total_amount":"0.01"})");
  EXPECT_EQ(finished.kind, QK::Paid);
  EXPECT_EQ(finished.amount, core::Fen{1});
  EXPECT_FALSE(finished.paid_at);
  EXPECT_EQ(
      query(
          R"({"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"})")
          .kind,
      QK::NotExist);
  const auto sys =
      query(R"({"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR"})");
  EXPECT_EQ(sys.kind, QK::Unclear);
  EXPECT_NE(sys.detail.find("ACQ.SYSTEM_ERROR"), std::string::npos);
  EXPECT_EQ(query(R"({"code":"20000","msg":"Service Currently Unavailable"})").kind, QK::Unclear);
  EXPECT_EQ(
      query(R"({"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature"})")
          .kind,
      QK::Unclear);
  EXPECT_EQ(query(R"({"code":"10000","msg":"Success","trade_status":"SOMETHING_NEW"})").kind,
            QK::Unclear);
  // Paid without a readable amount, or about another trade: cannot be trusted for this order.
  EXPECT_EQ(query(R"({"code":"10000","trade_status":"TRADE_SUCCESS","total_amount":"1e3"})").kind,
            QK::Unclear);
  EXPECT_EQ(
      query(
          R"({"code":"10000","trade_status":"TRADE_SUCCESS","total_amount":"1.00","out_trade_no":"OTHER"})")
          .kind,
      QK::Unclear);
}

TEST_F(Responses, CloseMapsSubCodes) {
  EXPECT_EQ(close(R"({"code":"10000","msg":"Success","out_trade_no":"ORDER-0001"})").kind,
            CK::Closed);
  EXPECT_EQ(close(R"({"code":"40004","sub_code":"ACQ.TRADE_NOT_EXIST"})").kind, CK::NotExist);
  EXPECT_EQ(close(R"({"code":"40004","sub_code":"ACQ.TRADE_STATUS_ERROR"})").kind, CK::StatusError);
  EXPECT_EQ(close(R"({"code":"40004","sub_code":"ACQ.SYSTEM_ERROR"})").kind, CK::Unclear);
  EXPECT_EQ(close(R"({"code":"20000"})").kind, CK::Unclear);
}

// A signed answer about another trade (replayed by whoever answers in the gateway's place) says
// nothing about this order: closing on it would close a live trade's order here, and its QR code
// would have the buyer pay for somebody else's order.
TEST_F(Responses, CloseAndPrecreateAnswersAboutAnotherTradeAreNotTrusted) {
  EXPECT_EQ(
      close(R"({"code":"10000","msg":"Success","out_trade_no":"OTHER","trade_no":"T2"})").kind,
      CK::Unclear);
  EXPECT_EQ(close(R"({"code":"10000","msg":"Success","trade_no":"T1"})").kind, CK::Closed);
  const auto other = interpret_precreate(
      verify_reply(
          200,
          signed_body(
              "alipay_trade_precreate_response",
              R"({"code":"10000","msg":"Success","out_trade_no":"OTHER","qr_code":"https://qr.alipay.com/bax2"})"),
          "alipay.trade.precreate", ali_pub),
      "ORDER-0001");
  EXPECT_FALSE(other.ok);
  EXPECT_EQ(other.data.find("bax2"), std::string::npos) << other.data;
}

TEST_F(Responses, PrecreateReturnsTheQrCode) {
  auto ok = interpret_precreate(
      verify_reply(
          200,
          signed_body(
              "alipay_trade_precreate_response",
              R"({"code":"10000","msg":"Success","out_trade_no":"A","qr_code":"https://qr.alipay.com/bax1"})"),
          "alipay.trade.precreate", ali_pub),
      "A");
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.data, "https://qr.alipay.com/bax1");
  auto fail = interpret_precreate(
      verify_reply(200,
                   signed_body("alipay_trade_precreate_response",
                               R"({"code":"40004","sub_code":"ACQ.SYSTEM_ERROR"})"),
                   "alipay.trade.precreate", ali_pub),
      "A");
  EXPECT_FALSE(fail.ok);
  EXPECT_NE(fail.detail.find("ACQ.SYSTEM_ERROR"), std::string::npos);
}

TEST_F(Responses, UntrustworthyAnswersAreUnclear) {
  const std::string good(vectors::kV3Body);
  // HTTP status other than 200, even with a valid body.
  EXPECT_EQ(interpret_query(verify_reply(502, good, kQuery, ali_pub), "ORDER-0001").kind,
            QK::Unclear);
  // Not JSON, truncated, empty.
  EXPECT_EQ(
      interpret_query(verify_reply(200, "<html>busy</html>", kQuery, ali_pub), "ORDER-0001").kind,
      QK::Unclear);
  for (std::size_t cut : {good.size() - 1, good.size() / 2, std::size_t{0}})
    EXPECT_EQ(
        interpret_query(verify_reply(200, good.substr(0, cut), kQuery, ali_pub), "ORDER-0001").kind,
        QK::Unclear)
        << cut;
  // Signed by another key, sign missing, sign not base64.
  RsaSigner app = test::signer("app_pkcs1.pem");
  const std::string payload = R"({"code":"40004","sub_code":"ACQ.TRADE_NOT_EXIST"})";
  const std::string forged =
      "{\"alipay_trade_query_response\":" + payload + ",\"sign\":\"" + app.sign(payload) + "\"}";
  EXPECT_EQ(interpret_query(verify_reply(200, forged, kQuery, ali_pub), "ORDER-0001").kind,
            QK::Unclear);
  EXPECT_EQ(interpret_query(verify_reply(200, "{\"alipay_trade_query_response\":" + payload + "}",
                                         kQuery, ali_pub),
                            "ORDER-0001")
                .kind,
            QK::Unclear);
  EXPECT_EQ(
      interpret_query(
          verify_reply(200, "{\"alipay_trade_query_response\":" + payload + ",\"sign\":\"%%%\"}",
                       kQuery, ali_pub),
          "ORDER-0001")
          .kind,
      QK::Unclear);
  // The answer for another method does not count.
  EXPECT_EQ(interpret_close(verify_reply(200, good, kClose, ali_pub), "ORDER-0001").kind,
            CK::Unclear);
}

TEST_F(Responses, ErrorResponseNeedsASignatureToo) {
  const std::string payload =
      R"({"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST"})";
  EXPECT_EQ(
      interpret_query(verify_reply(200, "{\"error_response\":" + payload + "}", kQuery, ali_pub),
                      "ORDER-0001")
          .kind,
      QK::Unclear);
  EXPECT_EQ(
      interpret_query(verify_reply(200, signed_body("error_response", payload), kQuery, ali_pub),
                      "ORDER-0001")
          .kind,
      QK::NotExist);
}

TEST(ResponseKey, DotsBecomeUnderscores) {
  EXPECT_EQ(response_key("alipay.trade.query"), "alipay_trade_query_response");
}

}  // namespace
}  // namespace chatglmd::pay
