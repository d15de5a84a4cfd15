#include "app/config.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "app/durations.hpp"
#include "http/client_address.hpp"
#include "store/open_store.hpp"

namespace po = boost::program_options;

extern char** environ;

namespace chatglmd::app {
namespace {

using Setter = std::function<std::string(Config&, const std::string&)>;  // "" = ok, else error

struct Key {
  std::string name;  // section.key
  std::string default_text;
  Setter set;
};

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

template <typename Section>
Setter str(Section Config::*section, std::string Section::*field) {
  return [=](Config& c, const std::string& v) {
    (c.*section).*field = v;
    return std::string();
  };
}

template <typename Section>
Setter list(Section Config::*section, std::vector<std::string> Section::*field) {
  return [=](Config& c, const std::string& v) {
    (c.*section).*field = split_list(v);
    return std::string();
  };
}

// Validated setters over an accessor, shared by the fixed sections and every [jobs.<name>].
template <typename Get>
Setter duration_setter(Get get, core::Millis min, core::Millis max) {
  return [=](Config& c, const std::string& v) -> std::string {
    auto d = parse_duration(v);
    if (!d) return fmt::format("'{}' is not a duration (use ms, s, m, h or d, e.g. 30m)", v);
    if (*d < min || *d > max)
      return fmt::format("{} is outside {}..{}", v, format_duration(min), format_duration(max));
    get(c) = *d;
    return {};
  };
}

template <typename Get>
Setter integer_setter(Get get, int min, int max) {
  return [=](Config& c, const std::string& v) -> std::string {
    auto n = parse_integer(v);
    if (!n || *n < min || *n > max)
      return fmt::format("'{}' is not a whole number in {}..{}", v, min, max);
    get(c) = static_cast<int>(*n);
    return {};
  };
}

template <typename Section>
Setter dur(Section Config::*section, core::Millis Section::*field, core::Millis min,
           core::Millis max) {
  return duration_setter([=](Config& c) -> core::Millis& { return (c.*section).*field; }, min, max);
}

template <typename Section>
Setter integer(Section Config::*section, int Section::*field, int min, int max) {
  return integer_setter([=](Config& c) -> int& { return (c.*section).*field; }, min, max);
}

std::optional<bool> parse_bool(const std::string& v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return std::nullopt;
}

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::vector<Key> make_keys(const std::map<std::string, jobs::JobSettings>& job_defaults) {
  Config d;
  std::vector<Key> keys = {
      {"store.path", d.store.path, str(&Config::store, &StoreSection::path)},
      {"store.synchronous", d.store.synchronous,
       [](Config& c, const std::string& v) -> std::string {
         std::string up = v;
         std::transform(up.begin(), up.end(), up.begin(), ::toupper);
         if (up != "FULL" && up != "NORMAL" && up != "EXTRA" && up != "OFF")
           return "must be FULL, NORMAL, EXTRA or OFF";
         c.store.synchronous = up;
         return {};
       }},
      {"store.url", d.store.url,
       [](Config& c, const std::string& v) -> std::string {
         if (!v.empty() && !store::is_postgres_url(v))
           return "must be a postgresql:// URL, or empty for the SQLite file at store.path";
         c.store.url = v;
         return {};
       }},
      {"store.password_file", d.store.password_file,
       str(&Config::store, &StoreSection::password_file)},
      {"http.listen", d.http.listen, str(&Config::http, &HttpSection::listen)},
      {"http.threads", std::to_string(d.http.threads),
       integer(&Config::http, &HttpSection::threads, 1, kMaxHttpThreads)},
      {"http.cors_origins", "", list(&Config::http, &HttpSection::cors_origins)},
      {"http.max_body", "1m",
       [](Config& c, const std::string& v) -> std::string {
         auto n = parse_size(v);
         if (!n || *n < 1024 || *n > kMaxMaxBody) return "must be a size between 1k and 64m";
         c.http.max_body = *n;
         return {};
       }},
      {"http.web_dir", d.http.web_dir, str(&Config::http, &HttpSection::web_dir)},
      {"http.drain", format_duration(d.http.drain),
       dur(&Config::http, &HttpSection::drain, kMinDrain, kMaxDrain)},
      {"http.trusted_proxies", "",
       [](Config& c, const std::string& v) -> std::string {
         std::string error;
         auto items = split_list(v);
         if (!http::TrustedProxies::parse(items, error)) return error;
         c.http.trusted_proxies = std::move(items);
         return {};
       }},
      {"auth.token_secret_file", "", str(&Config::auth, &AuthSection::token_secret_file)},
      {"auth.token_ttl", "7d",
       dur(&Config::auth, &AuthSection::token_ttl, minutes(1), hours(24 * 365))},
      {"auth.wechat_token_file", "", str(&Config::auth, &AuthSection::wechat_token_file)},
      {"auth.wechat_token", "", str(&Config::auth, &AuthSection::wechat_token)},
      {"auth.whitelist", "", list(&Config::auth, &AuthSection::whitelist)},
      {"auth.admin_token_file", "", str(&Config::auth, &AuthSection::admin_token_file)},
      {"alipay.gateway", d.alipay.gateway, str(&Config::alipay, &AlipaySection::gateway)},
      {"alipay.app_id", "", str(&Config::alipay, &AlipaySection::app_id)},
      {"alipay.private_key_file", "", str(&Config::alipay, &AlipaySection::private_key_file)},
      {"alipay.alipay_public_key_file", "",
       str(&Config::alipay, &AlipaySection::alipay_public_key_file)},
      {"alipay.seller_id", "", str(&Config::alipay, &AlipaySection::seller_id)},
      {"alipay.notify_url", "", str(&Config::alipay, &AlipaySection::notify_url)},
      {"alipay.return_url", "", str(&Config::alipay, &AlipaySection::return_url)},
      {"alipay.mode", d.alipay.mode,
       [](Config& c, const std::string& v) -> std::string {
         if (v != "page" && v != "precreate") return "must be page or precreate";
         c.alipay.mode = v;
         return {};
       }},
      {"alipay.timeout", "10s",
       dur(&Config::alipay, &AlipaySection::timeout, milliseconds(100), minutes(2))},
      {"alipay.late_payment", "deliver",
       [](Config& c, const std::string& v) -> std::string {
         auto p = core::parse_late_payment_policy(v);
         if (!p) return "must be deliver or refund";
         c.alipay.late_payment = *p;
         return {};
       }},
      {"chatglm.base_url", d.chatglm.base_url, str(&Config::chatglm, &ChatglmSection::base_url)},
      {"chatglm.api_key_file", "", str(&Config::chatglm, &ChatglmSection::api_key_file)},
      {"chatglm.models", join(d.chatglm.models), list(&Config::chatglm, &ChatglmSection::models)},
      {"chatglm.token_ttl", "30m",
       dur(&Config::chatglm, &ChatglmSection::token_ttl, minutes(2), hours(24))},
      {"chatglm.connect_timeout", "5s",
       dur(&Config::chatglm, &ChatglmSection::connect_timeout, milliseconds(100), minutes(2))},
      {"chatglm.first_byte_timeout", "60s",
       dur(&Config::chatglm, &ChatglmSection::first_byte_timeout, milliseconds(100), minutes(10))},
      {"chatglm.idle_timeout", "60s",
       dur(&Config::chatglm, &ChatglmSection::idle_timeout, milliseconds(100), minutes(10))},
      {"chat.free_chats", "0", integer(&Config::chat, &ChatSection::free_chats, 0, 1'000'000)},
      {"chat.free_window", "12h",
       dur(&Config::chat, &ChatSection::free_window, minutes(1), hours(24 * 365))},
      {"chat.rate_limit", std::to_string(d.chat.rate_limit),
       integer(&Config::chat, &ChatSection::rate_limit, 0, 100'000)},
      {"chat.log_days", std::to_string(d.chat.log_days),
       integer(&Config::chat, &ChatSection::log_days, 1, 3650)},
  };
  for (const auto& entry : job_defaults) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::string& job = entry.first;
    const jobs::JobSettings& def = entry.second;
    auto field = [job = job](auto member) {
      return [ job, member ](Config & c) -> auto& {
        return c.jobs.at(job).*member;
      };
    };
    auto dur_key = [&](const char* k, core::Millis jobs::JobSettings::*m, core::Millis value,
                       core::Millis min, core::Millis max) {
      keys.push_back({fmt::format("jobs.{}.{}", job, k), format_duration(value),
                      duration_setter(field(m), min, max)});
    };
    auto int_key = [&](const char* k, int jobs::JobSettings::*m, int value, int min, int max) {
      keys.push_back({fmt::format("jobs.{}.{}", job, k), std::to_string(value),
                      integer_setter(field(m), min, max)});
    };
    keys.push_back({fmt::format("jobs.{}.enabled", job), def.enabled ? "true" : "false",
                    [get = field(&jobs::JobSettings::enabled)](
                        Config& c, const std::string& v) -> std::string {
                      auto b = parse_bool(v);
                      if (!b) return "must be true or false";
                      get(c) = *b;
                      return {};
                    }});
    dur_key("interval", &jobs::JobSettings::interval, def.interval, seconds(1), hours(24));
    dur_key("after", &jobs::JobSettings::after, def.after, seconds(0), hours(24 * 30));
    int_key("batch", &jobs::JobSettings::batch, def.batch, 1, jobs::kMaxBatch);
    int_key("concurrency", &jobs::JobSettings::concurrency, def.concurrency, 1,
            jobs::kMaxConcurrency);
    dur_key("lease", &jobs::JobSettings::lease, def.lease, seconds(5), hours(1));
    dur_key("budget", &jobs::JobSettings::budget, def.budget, seconds(1), hours(1));
  }
  keys.push_back({"log.level", "info", [](Config& c, const std::string& v) -> std::string {
                    static const char* kLevels[] = {"trace", "debug",    "info", "warn",
                                                    "error", "critical", "off"};
                    if (std::find(std::begin(kLevels), std::end(kLevels), v) == std::end(kLevels))
                      return "must be trace, debug, info, warn, error, critical or off";
                    c.log_level = v;
                    return {};
                  }});
  return keys;
}

// Keys naming a file or folder. Every secret key ends in _file, so one added later is covered.
bool is_path_key(const std::string& name) {
  const std::string_view suffix = "_file";
  return name == "store.path" || name == "http.web_dir" ||
         (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0);
}

// A relative path from the config file means "next to that file" (so `chatglmd.db` is the same
// database whatever folder an admin command runs from); one from the environment or a flag is
// relative to the working directory, as in a shell. SQLite's own names are left alone.
std::string resolve_path(const std::string& value, const std::filesystem::path& base) {
  namespace fs = std::filesystem;
  if (value.empty() || value == ":memory:" || value.rfind("file:", 0) == 0) return value;
  fs::path p(value);
  if (p.is_relative()) p = base / p;
  return p.lexically_normal().string();
}

}  // namespace

std::string env_name_for(const std::string& key) {
  std::string out = "CHATGLMD_";
  for (char c : key)
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

std::vector<std::pair<std::string, std::string>> describe_keys(
    const std::map<std::string, jobs::JobSettings>& job_defaults) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : make_keys(job_defaults)) out.emplace_back(k.name, k.default_text);
  return out;
}

ConfigResult load_config(const ConfigSources& sources,
                         const std::map<std::string, jobs::JobSettings>& job_defaults) {
  ConfigResult result;
  Config config;
  config.jobs = job_defaults;
  const auto keys = make_keys(job_defaults);
  std::map<std::string, std::string> values;  // later sources overwrite earlier ones
  std::map<std::string, std::string> origin;

  namespace fs = std::filesystem;
  std::error_code cwd_error;
  const fs::path cwd = fs::current_path(cwd_error);
  fs::path config_dir = cwd;
  if (sources.file) {
    errno = 0;
    std::ifstream in(*sources.file);
    if (!in) {
      result.error = fmt::format("cannot read config file {}: {}", *sources.file,
                                 std::strerror(errno ? errno : ENOENT));
      return result;
    }
    config_dir = (cwd / fs::path(*sources.file)).parent_path();
    po::options_description desc;
    for (const auto& k : keys) desc.add_options()(k.name.c_str(), po::value<std::string>());
    try {
      // allow_unregistered = false: a misspelt key is an error, not a silent default.
      auto parsed = po::parse_config_file(in, desc, false);
      for (const auto& opt : parsed.options) {
        values[opt.string_key] = opt.value.empty() ? "" : trim(opt.value.front());
        origin[opt.string_key] = *sources.file;
      }
    } catch (const po::error& e) {
      result.error = fmt::format("{}: {}", *sources.file, e.what());
      return result;
    }
  }
  std::map<std::string, std::string> by_env;
  for (const auto& k : keys) by_env[env_name_for(k.name)] = k.name;
  for (const auto& [name, value] : sources.environment) {
    if (name.rfind("CHATGLMD_", 0) != 0) continue;
    auto it = by_env.find(name);
    if (it == by_env.end()) {
      result.error = fmt::format("unknown environment variable {} (not a config key)", name);
      return result;
    }
    values[it->second] = value;
    origin[it->second] = name;
  }
  for (const auto& [key, value] : sources.overrides) {
    values[key] = value;
    origin[key] = "command line";
  }
  for (const auto& k : keys) {
    if (!is_path_key(k.name)) continue;
    auto it = values.find(k.name);
    if (it == values.end()) {
      // A default path is a relative name too (store.path = chatglmd.db): same rule as the file.
      if (!k.default_text.empty()) values[k.name] = resolve_path(k.default_text, config_dir);
      continue;
    }
    const bool from_file = sources.file && origin[k.name] == *sources.file;
    it->second = resolve_path(it->second, from_file ? config_dir : cwd);
  }
  for (const auto& k : keys) {
    auto it = values.find(k.name);
    config.effective[k.name] = it == values.end() ? k.default_text : it->second;
    if (it == values.end()) continue;
    std::string err = k.set(config, it->second);
    if (!err.empty()) {
      result.error = fmt::format("{} (from {}): {}", k.name, origin[k.name], err);
      return result;
    }
  }
  if (!config.auth.wechat_token.empty() && !config.auth.wechat_token_file.empty()) {
    result.error =
        "auth.wechat_token and auth.wechat_token_file are both set: keep only "
        "auth.wechat_token_file (auth.wechat_token is deprecated)";
    return result;
  }
  result.config = std::move(config);
  return result;
}

boost::system::result<std::string> read_whole_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return boost::system::error_code(errno, boost::system::system_category());
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      boost::system::error_code ec(errno, boost::system::system_category());
      ::close(fd);
      return ec;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::vector<std::string> restart_only_changes(const Config& running, const Config& fresh) {
  std::vector<std::string> changed;
  for (const auto& [key, value] : fresh.effective) {
    if (key == "auth.whitelist" || key == "log.level") continue;  // applied by the reload
    auto old = running.effective.find(key);
    if (old == running.effective.end() || old->second != value) changed.push_back(key);
  }
  return changed;
}

std::optional<std::string> web_dir_problem(const Config& config) {
  const std::string& dir = config.http.web_dir;
  if (dir.empty()) return std::nullopt;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    return fmt::format("http.web_dir {}: {}", dir, std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return fmt::format("http.web_dir {}: {}", dir, std::strerror(ENOTDIR));
  if (::access(dir.c_str(), R_OK | X_OK) != 0)
    return fmt::format("http.web_dir {}: {}", dir, std::strerror(errno));
  return std::nullopt;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

std::optional<std::string> read_secret_file(const std::string& path, std::string& error) {
  // The OS reason matters: "Permission denied" for the service user is the usual install slip.
  auto content = read_whole_file(path);
  if (!content) {
    error = fmt::format("cannot read secret file {}: {}", path, content.error().message());
    return std::nullopt;
  }
  std::string secret = trim(*content);
  if (secret.empty()) {
    error = fmt::format("secret file {} is empty", path);
    return std::nullopt;
  }
  return secret;
}

std::optional<std::string> wechat_server_token(const AuthSection& auth, std::string& error) {
  if (!auth.wechat_token_file.empty()) return read_secret_file(auth.wechat_token_file, error);
  if (!auth.wechat_token.empty())
    spdlog::warn(
        "auth.wechat_token is deprecated: secrets belong in files; put the token in a file "
        "and set auth.wechat_token_file instead");
  return auth.wechat_token;
}

std::optional<std::string> read_admin_token(const std::string& path, std::string& error) {
  auto token = read_secret_file(path, error);
  if (!token) return std::nullopt;
  if (token->size() < kMinAdminTokenLength) {
    error = fmt::format(
        "admin token file {} holds fewer than {} characters: write a random one, e.g. "
        "head -c 32 /dev/urandom | base64 > {}",
        path, kMinAdminTokenLength, path);
    return std::nullopt;
  }
  return token;
}

}  // namespace chatglmd::app
