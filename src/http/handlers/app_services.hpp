#pragma once
// What the handlers need from the rest of the daemon. src/app builds these and calls
// register_routes(); nothing here owns anything. A null service turns its endpoints into a
// clear "not configured" answer instead of a crash, so the front also runs for partial setups.
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/order.hpp"
#include "core/refund.hpp"
#include "core/time.hpp"
#include "http/handlers/window_counter.hpp"
#include "http/router.hpp"

namespace chatglmd::store {
class Store;
class GroupCommitter;
}  // namespace chatglmd::store
namespace chatglmd::pay {
class PaymentGateway;
struct ParsedNotify;
enum class NotifyVerdict;
}  // namespace chatglmd::pay
namespace chatglmd::llm {
class ChatGlmClient;
}
namespace chatglmd::filter {
class FilterHolder;
}
namespace chatglmd::metrics {
class Registry;
class Counter;
}  // namespace chatglmd::metrics

namespace chatglmd::http {

// Notify verification with the gateway's keys and merchant identity (AlipayGateway::parse_notify
// and check_notify in the daemon; test keys in tests).
struct NotifyChecker {
  std::function<pay::ParsedNotify(std::string_view body)> parse;
  std::function<pay::NotifyVerdict(const pay::ParsedNotify&, const core::Order*)> check;
};

inline constexpr std::chrono::seconds kDefaultTokenTtl{7 * 24 * 3600};
inline constexpr core::Millis kLoginCodeTtl{3 * 60 * 1000};
// Wrong login codes one address may try per minute before logins from it wait out the minute: a
// 6-digit code lives 3 minutes, so without a brake a fast client could guess a live one.
inline constexpr int kLoginFailuresPerMinute = 10;
// A WeChat message is taken only this close to our clock, and each (timestamp, nonce) once.
inline constexpr core::Millis kWechatFreshness{5 * 60 * 1000};
inline constexpr core::Millis kDefaultCloseAfter{30 * 60 * 1000};
// An order is reused only while it has at least this long left before timeout-close takes it.
inline constexpr core::Millis kReuseMargin{5 * 60 * 1000};
inline constexpr int kDefaultRateLimit = 20;  // chat requests per user per minute
inline constexpr core::Millis kDefaultFreeWindow{12 * 3600 * 1000};
// The admin dashboard: wrong tokens one address may send per minute (as for login codes), the
// longest window it shows, and how much of each list it shows.
inline constexpr int kAdminFailuresPerMinute = 10;
inline constexpr int kMaxAdminDays = 366;
inline constexpr int kTopUsers = 10;
inline constexpr int kRecentRejections = 20;
inline constexpr int kMaxTtftSamples = 100'000;

struct HandlerSettings {
  std::string token_secret;  // HS256 key of user tokens
  std::chrono::seconds token_ttl = kDefaultTokenTtl;
  std::string wechat_token;                       // the official account's server token
  std::string admin_token;                        // /admin/ bearer token; empty: no dashboard
  std::string web_dir;                            // the chat and buy page; empty: embedded
  core::Millis close_after = kDefaultCloseAfter;  // [jobs.timeout-close] after
  int rate_limit = kDefaultRateLimit;             // 0: no limit
  int free_chats = 0;                             // per free_window for users without quota
  core::Millis free_window = kDefaultFreeWindow;
  std::string models_owned_by = "zhipuai";
  core::LatePaymentPolicy late_payment = core::LatePaymentPolicy::Deliver;  // [alipay]
  // Client addresses the failed-login limiter tracks at once (tests make it small).
  std::size_t login_limiter_keys = WindowCounter::kDefaultMaxKeys;
  // [jobs.<name>] after per job (missing: the job's default) and [chat] log_days: the dashboard
  // measures each job's backlog from the store as the job's ticks select it.
  std::map<std::string, core::Millis> job_after;
  core::Millis chat_log_keep{std::chrono::hours(24 * 90)};
};

class ProductCatalogue;
class AccountCache;

struct AppServices {
  store::Store* store = nullptr;
  // The dashboard's reports: on SQLite a connection of their own, so that a long report never
  // holds the connection the group commit writes through; null: `store`.
  store::Store* reports = nullptr;
  // query_product_list from memory, its change stamp checked per request (checked_answer);
  // null: read the store on each request.
  ProductCatalogue* catalogue = nullptr;
  // A chat start's account status and models from memory, the account stamp checked per
  // request; null: read the account on each chat start.
  AccountCache* accounts = nullptr;
  store::GroupCommitter* commits = nullptr;  // notifies share commits through it; null: one each
  pay::PaymentGateway* gateway = nullptr;
  NotifyChecker notify;
  llm::ChatGlmClient* chat = nullptr;
  filter::FilterHolder* filter = nullptr;
  const core::Clock* clock = nullptr;
  metrics::Registry* registry = nullptr;
  // Why /readyz answers 503 ("" when ready: the store takes a write); null: always ready.
  std::function<std::string()> not_ready;
  HandlerSettings settings;
};

// Every endpoint of DESIGN.md "HTTP front".
void register_routes(Router& router, const AppServices& services);

// One area each (handlers/*.cpp), for tests that want only part of the front.
void register_ops_routes(Router& router, const AppServices& services);
void register_auth_routes(Router& router, const AppServices& services);
void register_sale_routes(Router& router, const AppServices& services);
void register_notify_routes(Router& router, const AppServices& services);
void register_chat_routes(Router& router, const AppServices& services);
void register_openai_routes(Router& router, const AppServices& services);
void register_admin_routes(Router& router, const AppServices& services);

}  // namespace chatglmd::http
