#include "pay/alipay_notify.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "alipay_vectors.hpp"
#include "test_keys.hpp"

namespace chatglmd::pay {
namespace {

using V = NotifyVerdict;

struct Notifies : ::testing::Test {
  RsaVerifier ali_pub = test::verifier("ali_pub.pem");
  RsaSigner ali = test::signer("ali_pkcs1.pem");
  MerchantIdentity merchant{"2021000000000001", "2088102177649450"};
  core::Order order = [] {
    core::Order o;
    o.order_id = "ORDER-0001";
    o.amount = core::Fen{8888};
    return o;
  }();

  V verdict(std::string_view body) {
    return check_notify(parse_notify(body, ali_pub), merchant, &order);
  }
  // Vector 2's fields with one changed, re-signed by the "Alipay" key.
  std::string resigned(std::string_view key, std::string_view value) {
    Params p = form_decode(vectors::kV2Body).value();
    for (auto& [k, v] : p)
      if (k == key) v = value;
    return sign_notify_body(p, ali);
  }
  static std::string replace(std::string s, std::string_view from, std::string_view to) {
    s.replace(s.find(from), from.size(), to);
    return s;
  }
};

TEST_F(Notifies, Vector2VerifiesAndPassesMerchantChecks) {
  const ParsedNotify n = parse_notify(vectors::kV2Body, ali_pub);
  ASSERT_TRUE(n.well_formed);
  EXPECT_TRUE(n.signature_ok);
  EXPECT_EQ(notify_sign_content(n.params, EmptyValues::Drop), vectors::kV2SignContent);
  EXPECT_EQ(n.fields.notify_id, "2024010200222030415046880500000001");
  EXPECT_EQ(n.fields.out_trade_no, "ORDER-0001");
  EXPECT_EQ(n.fields.trade_no, "2024010222001446880500000001");
  EXPECT_EQ(n.fields.trade_status, "TRADE_SUCCESS");
  EXPECT_EQ(n.fields.total_amount, core::Fen{8888});
  ASSERT_TRUE(n.fields.gmt_payment);
  EXPECT_EQ(n.fields.gmt_payment->ms, 1704135855000LL);
  EXPECT_EQ(find_param(n.params, "subject"), "测试商品 A+B 100%");
  EXPECT_EQ(check_notify(n, merchant, &order), V::Ok);
}

TEST_F(Notifies, TamperedAmountFailsTheSignature) {
  EXPECT_EQ(
      verdict(replace(std::string(vectors::kV2Body), "total_amount=88.88", "total_amount=88.89")),
      V::BadSignature);
}

TEST_F(Notifies, AddedEmptyParameterIsIgnoredAsJavaDoesButBreaksTheNodeRule) {
  const std::string body = std::string(vectors::kV2Body) + "&body=";
  const ParsedNotify n = parse_notify(body, ali_pub);
  EXPECT_TRUE(n.signature_ok);
  EXPECT_EQ(check_notify(n, merchant, &order), V::Ok);
  // Node keeps empties: over that string the signature does not hold.
  EXPECT_FALSE(ali_pub.verify(notify_sign_content(n.params, EmptyValues::Keep),
                              *find_param(n.params, "sign")));
}

TEST_F(Notifies, SignerThatKeptAnEmptyValueIsAcceptedOnRetry) {
  Params p = form_decode(vectors::kV2Body).value();
  std::erase_if(p, [](const auto& kv) { return kv.first == "sign" || kv.first == "sign_type"; });
  p.emplace_back("passback_params", "");
  p.emplace_back("sign", ali.sign(notify_sign_content(p, EmptyValues::Keep)));
  p.emplace_back("sign_type", "RSA2");
  EXPECT_EQ(verdict(form_encode(p)), V::Ok);
}

TEST_F(Notifies, ForgedSignatureIsRejected) {
  Params p = form_decode(vectors::kV2Body).value();
  EXPECT_EQ(verdict(sign_notify_body(p, test::signer("app_pkcs1.pem"))), V::BadSignature);
  std::erase_if(p, [](const auto& kv) { return kv.first == "sign"; });
  EXPECT_EQ(verdict(form_encode(p)), V::BadSignature);  // unsigned
}

TEST_F(Notifies, TruncatedBodyIsRejected) {
  const std::string body(vectors::kV2Body);
  for (std::size_t cut : {body.size() - 1, body.size() - 10, body.size() / 2, std::size_t{0}})
    EXPECT_EQ(verdict(body.substr(0, cut)), V::BadSignature) << cut;
  EXPECT_EQ(verdict("\x01\x02 garbage %%"), V::BadSignature);
}

TEST_F(Notifies, MerchantChecksAfterAValidSignature) {
  EXPECT_EQ(verdict(resigned("app_id", "2021000000000002")), V::WrongApp);
  EXPECT_EQ(verdict(resigned("seller_id", "2088000000000000")), V::WrongSeller);
  EXPECT_EQ(verdict(resigned("total_amount", "88.87")), V::WrongAmount);
  EXPECT_EQ(verdict(resigned("total_amount", "88.880")), V::WrongAmount);
  EXPECT_EQ(verdict(resigned("out_trade_no", "ORDER-0002")), V::UnknownOrder);
  EXPECT_EQ(check_notify(parse_notify(vectors::kV2Body, ali_pub), merchant, nullptr),
            V::UnknownOrder);
  EXPECT_EQ(verdict(resigned("trade_status", "WAIT_BUYER_PAY")), V::NotPaidStatus);
  EXPECT_EQ(verdict(resigned("trade_status", "TRADE_CLOSED")), V::Closed);
  EXPECT_EQ(verdict(resigned("trade_status", "TRADE_FINISHED")), V::Ok);
  // An amount written differently but equal in fen is the same amount.
  order.amount = core::Fen{8880};
  EXPECT_EQ(verdict(resigned("total_amount", "88.8")), V::Ok);
}

TEST_F(Notifies, SellerIsCheckedOnlyWhenConfigured) {
  merchant.seller_id.clear();
  EXPECT_EQ(verdict(resigned("seller_id", "2088000000000000")), V::Ok);
}

// Found by the form fuzz target: the notify decoder kept {"", ""} for an empty segment where the
// front's decoder (http::parse_form) skips it, so one body meant two parameter lists.
TEST(FormDecode, EmptySegmentsAreNoParameters) {
  EXPECT_EQ(form_decode("a=1&&b=2&").value(), (Params{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(form_decode("&").value(), Params{});
  EXPECT_EQ(form_decode("=&a").value(), (Params{{"", ""}, {"a", ""}}));
}

// Found by the form fuzz target under ASan: Boost.URL 1.81's parse_query runs strlen() on its
// text, so a body view not followed by a NUL was read past its end (`make test-asan` sees it).
TEST(FormDecode, BodyIsReadNoFurtherThanItsEnd) {
  for (std::string_view text : {"", "a=1&b=2"}) {
    auto bytes = std::make_unique<char[]>(text.size());  // no NUL after the view
    std::copy(text.begin(), text.end(), bytes.get());
    EXPECT_TRUE(form_decode(std::string_view(bytes.get(), text.size())).has_value()) << text;
  }
}

TEST(NotifyVerdictNames, AreStableForMetrics) {
  EXPECT_EQ(name_of(V::WrongAmount), "wrong_amount");
  EXPECT_EQ(name_of(V::BadSignature), "bad_signature");
}

}  // namespace
}  // namespace chatglmd::pay
