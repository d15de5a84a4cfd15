#pragma once
// Test vectors 1-3 of protocols.md A7, copied byte for byte (produced with alipay-sdk 4.14.0 and
// openssl against the keys in tests/fixtures/).
#include <string_view>

namespace chatglmd::pay::vectors {

inline constexpr std::string_view kAppPubBare =
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAp7XC850y8/"
    "97AjNfyTfSDMwlKn+EYEcTYpqtR8rkx0lKrpzutloLZW5jxj8vTiCmgMFDYEe55Hp78WCfnAVggLGtam/"
    "Lkvevcu0iMFnKmNSlIdFbiaImab2vhfoEqSYWfa03/"
    "mYnCoTEHjO1jrrgrKtxrktAzAYi9bJDi9VmAeDlnteP4ATWP7+pNKYdMU0uW4xPzKXecG2/"
    "i6ThjILmy1XpxqYFGlQ5sHPaQFzEdKgyMdq1NI7VFOJXPwwylPO+fdBvfrQWh3qrOBufQb2YDD91Q3iRNf2bidFB4i/"
    "dIoNc41exQObz5JE6EYzwvBeCqVOyP9eSiy6m4k/2TXR3+wIDAQAB";
inline constexpr std::string_view kAliPubBare =
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtpRuCeR2mYAbgtEBxpHUfkSkX241j57A4klcQV1dfXv4D/"
    "0MHPU2C6ku2Ev4yPKkA5ec3mifoetSBQziPUSONL8VZ5DtpBEYRHWZWIaufzuyPBrIjEwqKl8pYRXdJjGoQnWqEef3Ia4D"
    "OukhfUuE5Ao9Ibd7zcoCbPmhMyfrDHX8foAabUwSNTapQMGLLre2Fye9V0YUAVkhr0ISvAtdayMC3dxoK40n9SQr4oXClb"
    "Bpa0r7m8iZYaYeHmeMOlZ4vnCqsYCYzEOZpyOOqq4xCuY1boftVKu8EsDSVT/zsvoWzpBbl9x5oast/"
    "j9Ywdc64muzp+1APeQdLQy+cL6HWwIDAQAB";

// Vector 1: request signing.
inline constexpr std::string_view kV1BizContent =
    R"({"out_trade_no":"ORDER-0001","total_amount":"88.88","subject":"测试商品 A&B","product_code":"FAST_INSTANT_TRADE_PAY"})";
inline constexpr std::string_view kV1SignContent =
    R"(app_id=2021000000000001&biz_content={"out_trade_no":"ORDER-0001","total_amount":"88.88","subject":"测试商品 A&B","product_code":"FAST_INSTANT_TRADE_PAY"}&charset=utf-8&method=alipay.trade.page.pay&notify_url=https://example.com/alipay/notify&return_url=https://example.com/return?a=1&b=2&sign_type=RSA2&timestamp=2024-01-02 03:04:05&version=1.0)";
inline constexpr std::string_view kV1Sign =
    "cltuaP4e9Qc/"
    "UV81ygAobxhYF1TfzYtvwcfnvF1yfGuq260ck9gZQ31bKwwQmrxF+iR3emXFzDbMxmv3qRvzUNVaOQPV0El0z8eO5PoMl+"
    "/Si3/"
    "fKJfBhNG2bqdh03KGKei42uJz4ra2wDG3bw3BrCBScZxBl9duMwRX0j+"
    "nK6IepX0jZNpMdjQWkGvRIS6myxn9Ax9MfymJDcjd0Et5isQJPNXXdpWO0PF0W2aFXxrF6eMo7Il4I3+5bLKFn/"
    "HEbkgejbVgctMO7oMaXIhLBbXMHlW61jt2SLRV5QJ28Q9UVL0mgCFJB1Kct61gcdVTadpQ52fljAwa+8r1rEH4Mw==";
// 2024-01-02 03:04:05 GMT+8 == 2024-01-01T19:04:05Z
inline constexpr long long kV1TimestampMs = 1704135845000LL;

// Vector 2: async notify, body exactly as received.
inline constexpr std::string_view kV2Body =
    "gmt_create=2024-01-02+03%3A04%3A10&charset=utf-8&seller_email=seller%40example.com&subject=%"
    "E6%B5%8B%E8%AF%95%E5%95%86%E5%93%81+A%2BB+100%25&buyer_id=2088102177846880&invoice_amount=88."
    "88&notify_id=2024010200222030415046880500000001&fund_bill_list=%5B%7B%22amount%22%3A%2288.88%"
    "22%2C%22fundChannel%22%3A%22ALIPAYACCOUNT%22%7D%5D&notify_type=trade_status_sync&trade_status="
    "TRADE_SUCCESS&receipt_amount=88.88&app_id=2021000000000001&buyer_pay_amount=88.88&seller_id="
    "2088102177649450&gmt_payment=2024-01-02+03%3A04%3A15&notify_time=2024-01-02+03%3A04%3A16&"
    "version=1.0&out_trade_no=ORDER-0001&total_amount=88.88&trade_no=2024010222001446880500000001&"
    "auth_app_id=2021000000000001&point_amount=0.00&sign=Ntq3o7W5WLW8HqSlB1lyxvnwjI9HXMssF3od2%"
    "2FwYlfJuJlULQ%2F3dbT4v5LIs8M50G4nkRyBTyZWB%2F9GIW9hPBq0q8C3k6EjfyoPxeFfgehb4kc3m%2B1QQ%"
    "2F2cjFVt6DuMYt9Y8lHlL1oPin0RJrnrnUL2PA4P2uZF2ltIygPGfcRTnNfS8TzR3TTpoBuW5RdmNf8xNp6f6mSS1vMqQc"
    "C2Smy65W3QOElWWFs7TFUYK%2BxDYvoiUu0puH7UEs2%2Fb1wvDXl%2F5kuVAr9lZRv%2FHOyB5S30E3HAe8HaxkT4%"
    "2FHDs%2Bft1pA%2Ba4oUDGo%2FaDdQzONqz0H3zUFwFkgP8CbotBAyOH4w%3D%3D&sign_type=RSA2";
inline constexpr std::string_view kV2SignContent =
    R"(app_id=2021000000000001&auth_app_id=2021000000000001&buyer_id=2088102177846880&buyer_pay_amount=88.88&charset=utf-8&fund_bill_list=[{"amount":"88.88","fundChannel":"ALIPAYACCOUNT"}]&gmt_create=2024-01-02 03:04:10&gmt_payment=2024-01-02 03:04:15&invoice_amount=88.88&notify_id=2024010200222030415046880500000001&notify_time=2024-01-02 03:04:16&notify_type=trade_status_sync&out_trade_no=ORDER-0001&point_amount=0.00&receipt_amount=88.88&seller_email=seller@example.com&seller_id=2088102177649450&subject=测试商品 A+B 100%&total_amount=88.88&trade_no=2024010222001446880500000001&trade_status=TRADE_SUCCESS&version=1.0)";

// Vector 3: response signature.
inline constexpr std::string_view kV3Body =
    R"({"alipay_trade_query_response":{"code":"10000","msg":"Success","buyer_logon_id":"tes***@example.com","buyer_pay_amount":"88.88","buyer_user_id":"2088102177846880","invoice_amount":"88.88","out_trade_no":"ORDER-0001","point_amount":"0.00","receipt_amount":"88.88","send_pay_date":"2024-01-02 03:04:15","total_amount":"88.88","trade_no":"2024010222001446880500000001","trade_status":"TRADE_SUCCESS"},"sign":"WWSB10+dCPfwwERzCtSVh0Q7oPFs7yWwoEzBiR1VKsuCRWzuymgIFf6GYKXBMBtR/Lri39ZWRH1Levn0q6V1AtYjJVhY9tuwpJ4mdYsXuiI/Y/lG0LQSyvtkazoOrWej6JVMxUpiBB34swWya7gb1CICDmdi0U9c6Cuah+XwrQ1vtcoLcWhUlBcVZuJlrzSD/nCG8jWbR6/kDlTNUPlehNgA+ZrnE8VP+FmG+FrKzfTxng8EqlFUCR7OI6y1YneGNZcg+RPS1AVcxsT2p0GMV3G7gqwAuxHozAIwNoMbFxP88tvXFE6HxIUCIubZdfk6cghHBwxYTmkVMhOTmc8Fpg=="})";

}  // namespace chatglmd::pay::vectors
