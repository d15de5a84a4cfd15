// The chat page and SIGHUP as an installed daemon meets them: `serve` started from a state
// folder far from the source tree (as the shipped unit does), with the page embedded.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include "support/daemon_harness.hpp"
#include "support/ports.hpp"

namespace chatglmd::testing {
namespace {

namespace fs = std::filesystem;

class InstalledDaemon : public ::testing::Test {
 protected:
  // web_dir empty: the default, the page compiled into the binary.
  InstalledDaemon() : d_(DaemonOptions{{{"http.web_dir", ""}}, {}, false}) {
    fs::create_directories(state());
    serve_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"/usr/bin/env", "-C", state().string(), CHATGLMD_BIN, "-c",
                                 d_.ini(), "serve"},
        log_path());
    bool up = eventually([&] {
      return !serve_->running() || (port_open(d_.port()) && get("/healthz").status == 200);
    });
    if (!up || !serve_->running()) throw std::runtime_error("serve did not start:\n" + log());
  }
  ~InstalledDaemon() override {
    serve_->signal(SIGTERM);
    serve_->wait(std::chrono::seconds(30));
  }
  fs::path state() const { return state_dir_.path() / "var" / "lib" / "chatglmd"; }
  std::string log_path() const { return state_dir_.file("serve.log"); }
  std::string log() const { return read_file(log_path()); }
  HttpReply get(const std::string& target,
                const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
    return http_request(d_.port(), "GET", target, "", headers);
  }

  TempDir state_dir_;
  DaemonHarness d_;
  std::unique_ptr<BackgroundProcess> serve_;
};

TEST_F(InstalledDaemon, ServesTheEmbeddedPageFromAnyWorkingDirectory) {
  const fs::path web = fs::path(CHATGLMD_SOURCE_DIR) / "web";
  auto page = get("/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.body, read_file(web / "index.html"));
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(page.headers["cache-control"], "no-cache");
  EXPECT_FALSE(page.headers["etag"].empty());
  for (const auto& [name, type] : std::vector<std::pair<std::string, std::string>>{
           {"app.js", "text/javascript; charset=utf-8"},
           {"vendor/marked.umd.js", "text/javascript; charset=utf-8"},
           {"vendor/purify.min.js", "text/javascript; charset=utf-8"},
           {"vendor/qrcode.js", "text/javascript; charset=utf-8"},
           {"app.css", "text/css; charset=utf-8"}}) {
    auto asset = get("/" + name);
    ASSERT_EQ(asset.status, 200) << name;
    EXPECT_EQ(asset.body, read_file(web / name)) << name;
    EXPECT_EQ(asset.headers["content-type"], type) << name;
    auto cached = get("/" + name, {{"If-None-Match", asset.headers["etag"]}});
    EXPECT_EQ(cached.status, 304) << name;
    EXPECT_EQ(cached.body, "") << name;
  }
  EXPECT_EQ(get("/nope.js").status, 404);
  EXPECT_EQ(get("/static/..%2f..%2fREADME.md").status, 404);
  EXPECT_EQ(get("/test/page.test.mjs").status, 404) << "the page's tests are not shipped";
  EXPECT_TRUE(fs::is_empty(state())) << "nothing written to the working directory";
  // Logged once serving starts, which may be just after /healthz first answers.
  EXPECT_TRUE(eventually([&] { return log().find("(store " + d_.db()) != std::string::npos; }))
      << "the store path is logged: " << log();
}

TEST_F(InstalledDaemon, AReloadThatChangesARestartOnlyKeySaysSo) {
  auto ini = read_file(d_.ini());
  auto at = ini.find("[http]\n");
  ASSERT_NE(at, std::string::npos) << ini;
  write_file(d_.ini(), ini.insert(at + 7, "threads = 3\n"));
  serve_->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return log().find("http.threads changed: the change needs a restart") != std::string::npos;
  })) << log();
  EXPECT_EQ(log().find("store.path changed"), std::string::npos) << "only what changed: " << log();
  EXPECT_EQ(get("/healthz").status, 200) << "still serving";
}

}  // namespace
}  // namespace chatglmd::testing
