// README's "Production install", walked in a scratch root as root: a system user made for the
// test (removed at the end, also on failure), the state and configuration folders with their
// owners and modes, secret files, `migrate` and admin commands as that user through runuser from
// another folder, `serve` as that user with the unit's environment (working directory = state
// folder, UMask, WATCHDOG_USEC, NOTIFY_SOCKET), ready, a write made by an admin command visible
// to the daemon, and a prompt stop.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <regex>

#include "daemon/daemon_client.hpp"
#include "support/notify_socket.hpp"
#include "support/ports.hpp"

namespace chatglmd::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

const fs::path kSource = CHATGLMD_SOURCE_DIR;

bool executable(const char* path) {
  return ::access(path, X_OK) == 0;
}

// The README's text between two markers: where its install steps are.
std::string install_section() {
  std::string readme = read_file(kSource / "README.md");
  auto from = readme.find("## Production install");
  auto to = readme.find("\n## ", from + 1);
  return readme.substr(from, to - from);
}

// The first match of `pattern`'s group 1 in `text`, "" when none.
std::string first_match(const std::string& text, const std::string& pattern) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(pattern)) ? m[1].str() : "";
}

CommandResult sh(const std::string& script) {
  return run_command({"/bin/sh", "-c", script});
}

// A system user for the test, made with the README's useradd and removed with its group when
// the test ends, whatever happened.
class SystemUser {
 public:
  SystemUser(const std::string& useradd_line, const std::string& name, const std::string& home)
      : name_(name) {
    // The README's line with the test's name and home in place of the real ones.
    std::string line = std::regex_replace(useradd_line, std::regex("/var/lib/chatglmd"), home);
    line = std::regex_replace(line, std::regex(" chatglmd$"), " " + name);
    auto r = sh(line);
    if (r.exit_code != 0) throw std::runtime_error(line + ": " + r.err);
    const passwd* p = ::getpwnam(name.c_str());
    if (!p) throw std::runtime_error("useradd made no user " + name);
    uid_ = p->pw_uid;
    gid_ = p->pw_gid;
  }
  ~SystemUser() { run_command({"/usr/sbin/userdel", name_}); }
  const std::string& name() const { return name_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }

 private:
  std::string name_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

struct Owner {
  uid_t uid;
  gid_t gid;
  unsigned mode;
};
Owner owner_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return {0, 0, 0};
  return {st.st_uid, st.st_gid, st.st_mode & 07777u};
}

TEST(InstallWalk, TheReadmeStepsGiveADaemonThatIsReadyAndWritesAsTheServiceUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "the install walk makes a system user: it needs root";
  for (const char* tool : {"/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/runuser",
                           "/usr/bin/setpriv", "/usr/bin/install"})
    if (!executable(tool)) GTEST_SKIP() << tool << " is not installed";

  const std::string steps = install_section();
  const std::string unit = read_file(kSource / "systemd" / "chatglmd.service");
  // One useradd, word for word in the README and in the unit's header.
  const std::string useradd = first_match(steps, R"((useradd --system [^\n`]*chatglmd))");
  ASSERT_FALSE(useradd.empty()) << steps;
  EXPECT_NE(unit.find("#   " + useradd + "\n"), std::string::npos) << useradd;
  EXPECT_NE(useradd.find("--home-dir /var/lib/chatglmd --shell /usr/sbin/nologin"),
            std::string::npos);
  // The README installs the file the unit's Documentation= names, at the unit path it states.
  const std::string doc = first_match(unit, R"(Documentation=.*file:(\S+))");
  ASSERT_FALSE(doc.empty()) << unit;
  EXPECT_NE(steps.find("install -D -m 0644 README.md " + doc), std::string::npos) << doc;
  EXPECT_NE(steps.find("/etc/systemd/system/chatglmd.service"), std::string::npos);
  EXPECT_NE(unit.find("# Install: /etc/systemd/system/chatglmd.service"), std::string::npos);

  TempDir scratch;
  const fs::path root = scratch.path();
  fs::permissions(root, fs::perms(0755));
  const fs::path state = root / "var/lib/chatglmd";
  const fs::path etc = root / "etc/chatglmd";
  const fs::path elsewhere = root / "home/operator";
  fs::create_directories(state.parent_path());
  fs::create_directories(etc.parent_path());
  fs::create_directories(elsewhere);
  const std::string name = "cgdwalk" + std::to_string(::getpid() % 100000);
  SystemUser user(useradd, name, state.string());

  // Step 1: the manual where the unit's Documentation= points.
  ASSERT_EQ(sh("install -D -m 0644 " + (kSource / "README.md").string() + " " +
               (root / doc.substr(1)).string())
                .exit_code,
            0);
  EXPECT_TRUE(fs::exists(root / doc.substr(1)));
  // Step 2: the folders, with the README's owners and modes.
  for (std::string line : {first_match(steps, R"((install -d -o chatglmd[^\n`]*))"),
                           first_match(steps, R"((install -d -o root[^\n`]*))")}) {
    ASSERT_FALSE(line.empty()) << steps;
    line = std::regex_replace(line, std::regex("chatglmd(\\s|$)"), name + "$1");
    line = std::regex_replace(line, std::regex("/var/lib/" + name), state.string());
    line = std::regex_replace(line, std::regex("/etc/" + name), etc.string());
    ASSERT_EQ(sh(line).exit_code, 0) << line;
  }
  EXPECT_EQ(owner_of(state).uid, user.uid());
  EXPECT_EQ(owner_of(state).mode, 0750u);
  EXPECT_EQ(owner_of(etc).uid, 0u);
  EXPECT_EQ(owner_of(etc).gid, user.gid());
  EXPECT_EQ(owner_of(etc).mode, 0750u);

  // Step 3: the secrets (the token secret as the README makes it) and the configuration, every
  // file root:<group> 0640 with absolute paths.
  SimProcess sim({"--alipay-key", fixture("ali_pkcs1.pem"), "--app-public-key",
                  fixture("app_pub.pem"), "--seller-id", DaemonHarness::kSellerId});
  const int port = free_port();
  ASSERT_EQ(sh("head -c 32 /dev/urandom | base64 > " + (etc / "token_secret").string()).exit_code,
            0);
  fs::copy_file(fixture("app_pkcs1.pem"), etc / "app_private.pem");
  fs::copy_file(fixture("ali_pub.pem"), etc / "alipay_public.pem");
  write_file(etc / "glm_key", std::string(SimProcess::kGlmApiKey) + "\n");
  const fs::path ini = etc / "chatglmd.ini";
  write_file(ini, "[store]\npath = " + (state / "chatglmd.db").string() +
                      "\n\n[http]\nlisten = 127.0.0.1:" + std::to_string(port) +
                      "\n\n[auth]\ntoken_secret_file = " + (etc / "token_secret").string() +
                      "\n\n[alipay]\ngateway = " + sim.url("/gateway.do") +
                      "\napp_id = " + DaemonHarness::kAppId +
                      "\nprivate_key_file = " + (etc / "app_private.pem").string() +
                      "\nalipay_public_key_file = " + (etc / "alipay_public.pem").string() +
                      "\nseller_id = " + DaemonHarness::kSellerId +
                      "\n\n[chatglm]\nbase_url = " + sim.url("/api/paas/v4") +
                      "\napi_key_file = " + (etc / "glm_key").string() + "\n");
  ASSERT_EQ(
      sh("chown root:" + name + " " + etc.string() + "/* && chmod 0640 " + etc.string() + "/*")
          .exit_code,
      0);

  // Steps 4 and 5 as the README writes them: runuser, from a folder that is not the state folder.
  auto as_user = [&](const std::string& args) {
    return sh("cd " + elsewhere.string() + " && runuser -u " + name + " -- " + CHATGLMD_BIN +
              " -c " + ini.string() + " " + args);
  };
  auto checked = as_user("check-config");
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  auto migrated = as_user("migrate");
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_EQ(owner_of(state / "chatglmd.db").uid, user.uid()) << "migrate left a foreign database";

  // Step 6: serve as the unit runs it (User=, WorkingDirectory=, UMask=, the watchdog and the
  // notify socket). setpriv execs in place as systemd does, so signals reach serve itself.
  NotifySocket notify((root / "notify.sock").string());
  BackgroundProcess serve(
      {"/usr/bin/setpriv", "--reuid=" + std::to_string(user.uid()),
       "--regid=" + std::to_string(user.gid()), "--init-groups", "/bin/sh", "-c",
       "cd " + state.string() + " && umask 0027 && exec " + CHATGLMD_BIN + " -c " + ini.string() +
           " serve"},
      (root / "serve.log").string(),
      {{"NOTIFY_SOCKET", (root / "notify.sock").string()}, {"WATCHDOG_USEC", "30000000"}});
  auto serve_log = [&] { return read_file(root / "serve.log"); };
  ASSERT_TRUE(notify.wait_for("READY=1", 15s)) << notify.seen() << serve_log();
  auto ready = http_request(port, "GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body << serve_log();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1", 5s)) << notify.seen();

  // Admin commands from another folder, as the service user: the daemon sees their writes.
  auto added = as_user("user add walker --quota 3");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  auto granted = as_user("user grant walker 50");
  ASSERT_EQ(granted.exit_code, 0) << granted.err;
  auto token = as_user("user token walker");
  ASSERT_EQ(token.exit_code, 0) << token.err;
  auto quota = http_request(port, "POST", "/api/v1/account/query_account_quota", "",
                            {{"Authorization", token.out.substr(0, token.out.find('\n'))}});
  ASSERT_EQ(quota.status, 200) << quota.raw;
  EXPECT_EQ(boost::json::parse(quota.body).at("data").at("surplusQuota").as_int64(), 53)
      << quota.body;
  EXPECT_TRUE(fs::is_empty(elsewhere)) << "a command created files where it was run";
  for (const auto& entry : fs::directory_iterator(state))
    EXPECT_EQ(owner_of(entry.path()).uid, user.uid()) << entry.path() << " is not the user's";

  // Stop: prompt, clean, said to systemd.
  const auto signalled = Clock::now();
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(10s), 0) << serve_log();
  EXPECT_LT(Clock::now() - signalled, 2s);
  EXPECT_TRUE(notify.wait_for("STOPPING=1", 1s)) << notify.seen();
}

}  // namespace
}  // namespace chatglmd::testing
