#pragma once
// A real `chatglmd serve` wired to a real chatglmd-sim, for tests that go through sockets the
// way users, Alipay and operators do. Everything lives in a temp folder; both processes are
// stopped when the harness dies.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::testing {

struct HttpReply {
  int status = 0;                              // 0: no HTTP answer (connection closed or garbage)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
  std::string raw;
};

// One request over a fresh connection (Connection: close); `headers` are added as given.
HttpReply http_request(int port, const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       int timeout_ms = 10000);

// What a browser does with the page-pay form: POSTs its hidden inputs to its action URL.
// Returns the simulator's pay page.
HttpReply submit_pay_form(const std::string& form_html);
std::string url_encode(const std::string& text);

struct DaemonOptions {
  // Extra or changed config keys as "section.key" -> value (written into the INI file).
  std::map<std::string, std::string> config;
  std::vector<std::string>
      sim_args;       // extra chatglmd-sim flags (--chunk-delay-ms, --split-bytes, ...)
  bool start = true;  // false: write config and migrate only
  // Extra environment of `serve` (NOTIFY_SOCKET, WATCHDOG_USEC, ...).
  std::map<std::string, std::string> serve_env;
  // Several nodes of one deployment: talk to this simulator (another harness's, which must
  // outlive this one) instead of starting an own, so Alipay and ChatGLM are one world.
  SimProcess* shared_sim = nullptr;
};

class DaemonHarness {
 public:
  static constexpr const char* kAppId = "2021000000000001";
  static constexpr const char* kSellerId = "2088102177649450";
  static constexpr const char* kWechatToken = "test-wechat-token";

  explicit DaemonHarness(DaemonOptions options = {});
  ~DaemonHarness();

  void start();          // starts serve and waits until /healthz answers
  int terminate();       // SIGTERM, wait; returns the exit code
  void signal(int sig);  // to serve, without waiting
  // serve's exit code (128+N when killed by signal N), -1 when it still runs after `limit`.
  int wait_exit(std::chrono::milliseconds limit);
  void kill9();  // SIGKILL, wait
  bool running();
  pid_t pid() const { return serve_ ? serve_->pid() : -1; }

  int port() const { return port_; }
  SimProcess& sim() { return *sim_; }
  const std::string& ini() const { return ini_; }
  std::string db() const { return dir_.file("chatglmd.db"); }
  std::string dir() const { return dir_.path().string(); }
  std::string log() const;

  // `chatglmd -c <ini> args...`
  CommandResult cli(std::vector<std::string> args,
                    const std::map<std::string, std::string>& env = {}) const;
  std::string token_for(const std::string& openid) const;  // `user token OPENID`
  HttpReply request(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
    return http_request(port_, method, target, body, headers);
  }
  // POSTs a form with the user's token.
  HttpReply post_form(const std::string& target, const std::string& form,
                      const std::string& token) const;
  // POSTs JSON with the user's token.
  HttpReply post_json(const std::string& target, const std::string& json,
                      const std::string& token) const;

 private:
  void write_ini(const DaemonOptions& options);
  std::map<std::string, std::string> serve_env_;
  TempDir dir_;
  std::unique_ptr<SimProcess> own_sim_;
  SimProcess* sim_ = nullptr;  // own_sim_, or options.shared_sim
  std::unique_ptr<BackgroundProcess> serve_;
  std::string ini_;
  int port_ = 0;
};

}  // namespace chatglmd::testing
