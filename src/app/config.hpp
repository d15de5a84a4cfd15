#pragma once
// Configuration: INI file (-c), overridden by CHATGLMD_<SECTION>_<KEY> environment variables,
// overridden by flags. Unknown keys are errors. Relative paths (store.path, web_dir, *_file)
// from the file resolve against the file's folder, others against the working directory. Every key
// has a named default here and is listed (with its default) by `chatglmd --help-config`.
#include <boost/system/result.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/refund.hpp"
#include "core/time.hpp"
#include "jobs/job.hpp"

namespace chatglmd::app {

struct StoreSection {
  std::string path = "chatglmd.db";
  std::string synchronous = "FULL";
  // postgresql://user@host:port/db selects PostgreSQL (path and synchronous are then unused);
  // empty = the SQLite file at `path`.
  std::string url;
  std::string password_file;  // the PostgreSQL password; empty: libpq's PGPASSFILE / ~/.pgpass
};

inline constexpr std::size_t kDefaultMaxBody = 1 << 20;
inline constexpr std::size_t kMaxMaxBody = 64 << 20;
inline constexpr int kMaxHttpThreads = 64;
// One budget for the whole stop (open answers and job ticks together); the shipped unit's
// TimeoutStopSec leaves room above the largest value systemd should wait for.
inline constexpr core::Millis kDefaultDrain{std::chrono::seconds(20)};
inline constexpr core::Millis kMinDrain{std::chrono::seconds(1)};
inline constexpr core::Millis kMaxDrain{std::chrono::minutes(10)};

struct HttpSection {
  std::string listen = "127.0.0.1:8090";
  int threads = 2;
  std::vector<std::string> cors_origins;
  std::size_t max_body = kDefaultMaxBody;
  std::string web_dir;  // empty: the page embedded in the binary
  core::Millis drain = kDefaultDrain;
  // Reverse proxies whose X-Forwarded-For / X-Real-IP name the client, as CIDR text (checked at
  // load; the front parses them into networks), so this header needs no Asio; none by default.
  std::vector<std::string> trusted_proxies;
};

struct AuthSection {
  std::string token_secret_file;
  core::Millis token_ttl{std::chrono::hours(24 * 7)};
  std::string wechat_token_file;  // the official account's server token (a secret file)
  std::string wechat_token;       // deprecated: the same token inline; warned about at start
  std::vector<std::string> whitelist;
  std::string admin_token_file;  // the /admin/ bearer token (a secret file); empty: no dashboard
};

struct AlipaySection {
  std::string gateway = "https://openapi.alipay.com/gateway.do";
  std::string app_id;
  std::string private_key_file;
  std::string alipay_public_key_file;
  std::string seller_id;
  std::string notify_url;
  std::string return_url;
  std::string mode = "page";
  core::Millis timeout{std::chrono::seconds(10)};
  core::LatePaymentPolicy late_payment = core::LatePaymentPolicy::Deliver;
};

struct ChatglmSection {
  std::string base_url = "https://open.bigmodel.cn/api/paas/v4";
  std::string api_key_file;
  std::vector<std::string> models{"glm-4", "glm-3-turbo"};
  core::Millis token_ttl{std::chrono::minutes(30)};
  core::Millis connect_timeout{std::chrono::seconds(5)};
  core::Millis first_byte_timeout{std::chrono::seconds(60)};
  core::Millis idle_timeout{std::chrono::seconds(60)};
};

struct ChatSection {
  int free_chats = 0;
  core::Millis free_window{std::chrono::hours(12)};
  int rate_limit = 20;  // requests per minute per user; 0 = no limit
  int log_days = 90;    // usage log (chat_log) rows older than this are pruned
};

struct Config {
  StoreSection store;
  HttpSection http;
  AuthSection auth;
  AlipaySection alipay;
  ChatglmSection chatglm;
  ChatSection chat;
  std::map<std::string, jobs::JobSettings> jobs;  // every registered job, defaults filled in
  std::string log_level = "info";
  // Every key's value as text (paths resolved), to tell what a reload changed.
  std::map<std::string, std::string> effective;
};

struct ConfigSources {
  std::optional<std::string> file;                 // -c
  std::map<std::string, std::string> environment;  // the process environment (CHATGLMD_* used)
  std::map<std::string, std::string> overrides;    // from flags, as "section.key" -> value
};

struct ConfigResult {
  std::optional<Config> config;
  std::string error;
};

// `job_defaults` names every job the registry knows, with its defaults.
ConfigResult load_config(const ConfigSources& sources,
                         const std::map<std::string, jobs::JobSettings>& job_defaults);

// Keys whose change a reload (SIGHUP) cannot apply to a running daemon; it applies only the
// whitelist and the log level.
std::vector<std::string> restart_only_changes(const Config& running, const Config& fresh);

// Why a set http.web_dir cannot be served ("http.web_dir /x: No such file or directory").
std::optional<std::string> web_dir_problem(const Config& config);

// "CHATGLMD_JOBS_TIMEOUT_CLOSE_INTERVAL" for "jobs.timeout-close.interval".
std::string env_name_for(const std::string& key);

// Every key with its default, for --help-config and the README.
std::vector<std::pair<std::string, std::string>> describe_keys(
    const std::map<std::string, jobs::JobSettings>& job_defaults);

// The process environment as a map (the CHATGLMD_* entries are the ones load_config reads).
std::map<std::string, std::string> process_environment();

// A whole file, or the OS reason it cannot be read (e.g. "Permission denied").
boost::system::result<std::string> read_whole_file(const std::string& path);

// Reads a secret file, trimmed of surrounding white space. Never logs the content.
std::optional<std::string> read_secret_file(const std::string& path, std::string& error);

// The WeChat server token: from auth.wechat_token_file, else the deprecated auth.wechat_token
// (with a warning in the log), else "" (the portal then refuses every signature). nullopt with
// error when the file cannot be read.
std::optional<std::string> wechat_server_token(const AuthSection& auth, std::string& error);

// The admin dashboard's bearer token from auth.admin_token_file; refused when shorter than
// kMinAdminTokenLength (a guessable token behind a login limit is still guessable).
inline constexpr std::size_t kMinAdminTokenLength = 16;
std::optional<std::string> read_admin_token(const std::string& path, std::string& error);

}  // namespace chatglmd::app
