#include "app/config_help.hpp"

#include <algorithm>
#include <iterator>
#include <string>

namespace chatglmd::app {
namespace {

struct KeyMeaning {
  std::string_view key;  // "jobs.*.interval" stands for every job
  std::string_view meaning;
};

constexpr KeyMeaning kMeanings[] = {
    {"store.path",
     "the SQLite file (WAL mode; keep it on local disk); relative: next to the INI file"},
    {"store.synchronous",
     "FULL, NORMAL, EXTRA or OFF; FULL makes every confirmed payment survive power loss"},
    {"store.url",
     "postgresql://user@host:port/db (a libpq URI) selects PostgreSQL, shared by several nodes; "
     "empty: the SQLite file at store.path"},
    {"store.password_file",
     "file holding the PostgreSQL password (empty: libpq's PGPASSFILE or ~/.pgpass); never "
     "logged"},
    {"http.listen", "address and port of the front"},
    {"http.threads", "io threads (1..64)"},
    {"http.cors_origins", "comma-separated origins allowed to call from a browser; * for any"},
    {"http.max_body", "largest request body (1k..64m); larger bodies get HTTP 413"},
    {"http.web_dir",
     "empty: the chat and buy page built into the binary; a folder: serve that instead"},
    {"http.drain",
     "stop budget after SIGTERM: open answers and job ticks finish within it, the rest is "
     "cancelled"},
    {"http.trusted_proxies",
     "comma-separated CIDRs of reverse proxies whose X-Forwarded-For / X-Real-IP name the "
     "client (none: the TCP peer is the client)"},
    {"auth.token_secret_file", "file holding the HS256 key of user tokens (required by serve)"},
    {"auth.token_ttl", "lifetime of user tokens"},
    {"auth.wechat_token_file",
     "file holding the official account's server token, for the portal signature"},
    {"auth.wechat_token",
     "deprecated: the same token inline (warned about at start); not together with "
     "wechat_token_file"},
    {"auth.whitelist",
     "comma-separated openids exempt from rate limits and the word filter (added to `whitelist "
     "add` entries)"},
    {"auth.admin_token_file",
     "file holding the bearer token of the /admin/ dashboard and /admin/api (unset: both off, "
     "404)"},
    {"alipay.gateway", "gateway URL; plain http:// only for loopback addresses"},
    {"alipay.app_id", "the app id; without it selling and the order jobs are off"},
    {"alipay.private_key_file",
     "file holding the app private key (PKCS#1 or PKCS#8, PEM or base64)"},
    {"alipay.alipay_public_key_file", "file holding Alipay's public key (PEM or bare base64)"},
    {"alipay.seller_id", "merchant PID checked in notifies (empty: not checked)"},
    {"alipay.notify_url", "public HTTPS URL of POST /api/v1/sale/pay_notify"},
    {"alipay.return_url", "where the buyer's browser returns after paying (display only)"},
    {"alipay.mode", "page (auto-submit form to the Alipay cashier) or precreate (QR code URL)"},
    {"alipay.timeout", "per gateway call (connect, write, first byte, idle)"},
    {"alipay.late_payment",
     "deliver or refund: what a confirmed payment for a closed order turns into"},
    {"chatglm.base_url", "model server; plain http:// only for loopback addresses"},
    {"chatglm.api_key_file",
     "file holding the Zhipu API key <id>.<secret>; without it chat is off"},
    {"chatglm.models", "models this deployment serves (GET /v1/models)"},
    {"chatglm.token_ttl", "lifetime of the upstream JWT; replaced when less than 1m is left"},
    {"chatglm.connect_timeout", "connecting to the model server"},
    {"chatglm.first_byte_timeout", "until the model server starts answering"},
    {"chatglm.idle_timeout", "between two pieces of a streamed answer"},
    {"chat.free_chats", "chats per free_window for a user without purchased quota (0: none)"},
    {"chat.free_window", "the window free_chats counts in"},
    {"chat.rate_limit", "chat requests per minute per user (0: no limit; whitelist exempt)"},
    {"chat.log_days",
     "days the usage log (chat_log) keeps a chat; the chat-log-prune job removes older rows"},
    {"jobs.*.enabled", "run in the built-in scheduler (`jobs run` works either way)"},
    {"jobs.*.interval",
     "fixed delay between the end of one tick and the next (plus up to 10% jitter)"},
    {"jobs.*.after", "age at which an order is due for this job"},
    {"jobs.*.batch", "orders per batch (1..1000)"},
    {"jobs.*.concurrency", "gateway calls in flight (1..256)"},
    {"jobs.*.lease", "how long a crashed runner blocks others at most; renewed during a tick"},
    {"jobs.*.budget", "a tick takes no new batch after this long"},
    {"log.level", "trace, debug, info, warn, error, critical or off"},
};

}  // namespace

std::string_view key_meaning(std::string_view key) {
  std::string lookup(key);
  // "jobs.<name>.<key>": the job name may hold dots, so the key is after the last one.
  if (key.rfind("jobs.", 0) == 0) {
    auto dot = key.rfind('.');
    if (dot > 4) lookup = "jobs.*" + std::string(key.substr(dot));
  }
  auto it = std::find_if(std::begin(kMeanings), std::end(kMeanings),
                         [&](const KeyMeaning& m) { return m.key == lookup; });
  return it == std::end(kMeanings) ? std::string_view() : it->meaning;
}

}  // namespace chatglmd::app
