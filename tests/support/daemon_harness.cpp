#include "support/daemon_harness.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "support/ports.hpp"

namespace chatglmd::testing {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

std::string dechunk(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    std::size_t n = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) break;
    out += body.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

}  // namespace

HttpReply http_request(int port, const std::string& method, const std::string& target,
                       const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       int timeout_ms) {
  std::string req = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
                                method, target, port);
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    has_type = has_type || lower(k) == "content-type";
  }
  if (!body.empty() || method == "POST") {
    if (!has_type) req += "Content-Type: application/x-www-form-urlencoded\r\n";
    req += fmt::format("Content-Length: {}\r\n", body.size());
  }
  req += "\r\n" + body;
  HttpReply reply;
  reply.raw = raw_http(port, req, timeout_ms);
  auto head_end = reply.raw.find("\r\n\r\n");
  if (reply.raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) return reply;
  reply.status = std::stoi(reply.raw.substr(9, 3));
  std::istringstream head(reply.raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    reply.headers[lower(line.substr(0, colon))] = value;
  }
  reply.body = reply.raw.substr(head_end + 4);
  if (lower(reply.headers["transfer-encoding"]) == "chunked") reply.body = dechunk(reply.body);
  return reply;
}

std::string url_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

namespace {
std::string html_unescape(std::string s) {
  const std::pair<const char*, const char*> entities[] = {
      {"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities) {
    for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos;
         pos += std::strlen(to))
      s.replace(pos, std::strlen(from), to);
  }
  return s;
}

std::string attribute(const std::string& tag, const std::string& name) {
  auto at = tag.find(name + "=\"");
  if (at == std::string::npos) return {};
  at += name.size() + 2;
  return html_unescape(tag.substr(at, tag.find('"', at) - at));
}
}  // namespace

HttpReply submit_pay_form(const std::string& form_html) {
  auto form_end = form_html.find('>');
  std::string action = attribute(form_html.substr(0, form_end + 1), "action");
  // http://127.0.0.1:PORT/gateway.do?...
  auto host_start = action.find("://") + 3;
  auto path_start = action.find('/', host_start);
  int port = std::stoi(action.substr(action.find(':', host_start) + 1));
  std::string body;
  for (std::size_t pos = 0; (pos = form_html.find("<input", pos)) != std::string::npos; ++pos) {
    std::string tag = form_html.substr(pos, form_html.find('>', pos) - pos + 1);
    std::string name = attribute(tag, "name");
    if (name.empty()) continue;
    body += (body.empty() ? "" : "&") + name + "=" + url_encode(attribute(tag, "value"));
  }
  return http_request(port, "POST", action.substr(path_start), body);
}

DaemonHarness::DaemonHarness(DaemonOptions options) : serve_env_(options.serve_env) {
  sim_ = options.shared_sim;
  if (sim_ == nullptr) {
    std::vector<std::string> sim_args = {"--alipay-key",     fixture("ali_pkcs1.pem"),
                                         "--app-public-key", fixture("app_pub.pem"),
                                         "--seller-id",      kSellerId};
    sim_args.insert(sim_args.end(), options.sim_args.begin(), options.sim_args.end());
    own_sim_ = std::make_unique<SimProcess>(sim_args);
    sim_ = own_sim_.get();
  }
  port_ = free_port();
  write_ini(options);
  auto migrated = cli({"migrate"});
  if (migrated.exit_code != 0) throw std::runtime_error("migrate failed: " + migrated.err);
  if (options.start) start();
}

DaemonHarness::~DaemonHarness() {
  if (serve_ && serve_->running()) terminate();
}

void DaemonHarness::write_ini(const DaemonOptions& options) {
  write_file(dir_.file("token_secret"), "test-token-secret-0123456789\n");
  write_file(dir_.file("glm_key"), std::string(SimProcess::kGlmApiKey) + "\n");
  std::map<std::string, std::string> c = {
      {"store.path", dir_.file("chatglmd.db")},
      {"store.synchronous", "NORMAL"},
      {"http.listen", fmt::format("127.0.0.1:{}", port_)},
      {"http.web_dir", std::string(CHATGLMD_SOURCE_DIR) + "/web"},
      {"auth.token_secret_file", dir_.file("token_secret")},
      {"auth.wechat_token", kWechatToken},
      {"alipay.gateway", sim_->url("/gateway.do")},
      {"alipay.app_id", kAppId},
      {"alipay.private_key_file", fixture("app_pkcs1.pem")},
      {"alipay.alipay_public_key_file", fixture("ali_pub.pem")},
      {"alipay.seller_id", kSellerId},
      {"alipay.notify_url", fmt::format("http://127.0.0.1:{}/api/v1/sale/pay_notify", port_)},
      {"alipay.timeout", "3s"},
      {"chatglm.base_url", sim_->url("/api/paas/v4")},
      {"chatglm.api_key_file", dir_.file("glm_key")},
      {"chatglm.models", "glm-4,glm-3-turbo"},
      {"chat.rate_limit", "0"},
  };
  for (const auto& [k, v] : options.config) c[k] = v;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections;
  for (const auto& [k, v] : c) {
    auto dot = k.rfind('.');
    sections[k.substr(0, dot)].emplace_back(k.substr(dot + 1), v);
  }
  std::string text;
  for (const auto& [section, keys] : sections) {
    text += "[" + section + "]\n";
    for (const auto& [k, v] : keys) text += k + " = " + v + "\n";
    text += "\n";
  }
  ini_ = dir_.file("chatglmd.ini");
  write_file(ini_, text);
}

void DaemonHarness::start() {
  serve_ = std::make_unique<BackgroundProcess>(
      std::vector<std::string>{CHATGLMD_BIN, "-c", ini_, "serve"}, dir_.file("serve.log"),
      serve_env_);
  bool up = eventually([&] {
    if (!serve_->running()) return true;
    return port_open(port_) && http_request(port_, "GET", "/healthz", "", {}, 2000).status == 200;
  });
  if (!up || !serve_->running())
    throw std::runtime_error("chatglmd serve did not start:\n" + log());
}

int DaemonHarness::terminate() {
  serve_->signal(SIGTERM);
  return serve_->wait(std::chrono::seconds(30));
}

void DaemonHarness::signal(int sig) {
  serve_->signal(sig);
}

int DaemonHarness::wait_exit(std::chrono::milliseconds limit) {
  return serve_->wait(limit);
}

void DaemonHarness::kill9() {
  serve_->signal(SIGKILL);
  serve_->wait(std::chrono::seconds(10));
}

bool DaemonHarness::running() {
  return serve_ && serve_->running();
}

std::string DaemonHarness::log() const {
  std::error_code ec;
  if (!std::filesystem::exists(dir_.file("serve.log"), ec)) return {};
  return read_file(dir_.file("serve.log"));
}

CommandResult DaemonHarness::cli(std::vector<std::string> args,
                                 const std::map<std::string, std::string>& env) const {
  args.insert(args.begin(), {CHATGLMD_BIN, "-c", ini_});
  return run_command(args, env);
}

std::string DaemonHarness::token_for(const std::string& openid) const {
  auto r = cli({"user", "token", openid});
  if (r.exit_code != 0) throw std::runtime_error("user token failed: " + r.err);
  return r.out.substr(0, r.out.find('\n'));
}

HttpReply DaemonHarness::post_form(const std::string& target, const std::string& form,
                                   const std::string& token) const {
  return request("POST", target, form, {{"Authorization", "Bearer " + token}});
}

HttpReply DaemonHarness::post_json(const std::string& target, const std::string& json,
                                   const std::string& token) const {
  return request("POST", target, json,
                 {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
}

}  // namespace chatglmd::testing
