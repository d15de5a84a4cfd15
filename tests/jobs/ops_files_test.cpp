// The shipped systemd units and cron file: systemd itself accepts them (systemd-analyze verify
// and security, on copies whose binary path points at the built chatglmd), they say what the
// design promises, there is one timer/service pair and one cron line per registered job, and
// every command they run is one the real binary accepts.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "app/config.hpp"
#include "app/durations.hpp"
#include "jobs/registry.hpp"
#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kSystemd = fs::path(CHATGLMD_SOURCE_DIR) / "systemd";
const fs::path kCron = fs::path(CHATGLMD_SOURCE_DIR) / "cron" / "chatglmd";
constexpr const char* kInstalledBin = "/usr/bin/chatglmd";
constexpr const char* kInstalledIni = "/etc/chatglmd/chatglmd.ini";

std::vector<std::string> job_names() {
  std::vector<std::string> names;
  for (const auto& j : jobs::make_jobs()) names.emplace_back(j->name());
  return names;
}

// key -> every value it is given, per section ("Service.ExecStart").
std::multimap<std::string, std::string> read_unit(const fs::path& path) {
  std::multimap<std::string, std::string> keys;
  std::istringstream in(read_file(path));
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    auto eq = line.find('=');
    if (eq != std::string::npos)
      keys.emplace(section + "." + line.substr(0, eq), line.substr(eq + 1));
  }
  return keys;
}

std::string one(const std::multimap<std::string, std::string>& unit, const std::string& key) {
  auto [a, b] = unit.equal_range(key);
  if (a == b) return "<missing>";
  if (std::next(a) != b) return "<repeated>";
  return a->second;
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The tool's full path (run_command does not search PATH), or empty when it is not installed.
std::string which(const std::string& tool) {
  auto r = run_command({"/bin/sh", "-c", "command -v " + tool});
  if (r.exit_code != 0) return {};
  return r.out.substr(0, r.out.find('\n'));
}
const std::string kAnalyze = which("systemd-analyze");

// The units with the installed binary path replaced by the built one, in a temp folder.
struct UnitCopies {
  TempDir dir;
  std::vector<std::string> files;
  UnitCopies() {
    for (const auto& entry : fs::directory_iterator(kSystemd)) {
      std::string text = read_file(entry.path());
      for (std::size_t pos = 0; (pos = text.find(kInstalledBin, pos)) != std::string::npos;)
        text.replace(pos, std::string(kInstalledBin).size(), CHATGLMD_BIN);
      files.push_back(dir.file(entry.path().filename().string()));
      write_file(files.back(), text);
    }
    std::sort(files.begin(), files.end());
  }
};

// systemd-analyze verify exits 0 even for unknown keys; anything it says is a finding.
CommandResult verify(const std::vector<std::string>& files) {
  std::vector<std::string> argv = {kAnalyze, "verify", "--man=no"};
  argv.insert(argv.end(), files.begin(), files.end());
  return run_command(argv);
}

TEST(OpsFiles, SystemdAcceptsEveryUnitWithoutAWord) {
  if (kAnalyze.empty()) GTEST_SKIP() << "systemd-analyze is not installed";
  UnitCopies units;
  ASSERT_EQ(units.files.size(), 1 + 2 * job_names().size());
  auto r = verify(units.files);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "");

  // The check is not blind: a misspelt key is reported.
  std::string broken = read_file(units.dir.file("chatglmd.service"));
  broken.replace(broken.find("WatchdogSec="), 12, "WatchdgSec=");
  write_file(units.dir.file("chatglmd.service"), broken);
  r = verify({units.dir.file("chatglmd.service")});
  EXPECT_NE(r.out + r.err, "");
}

TEST(OpsFiles, ServicesAreHardened) {
  if (kAnalyze.empty()) GTEST_SKIP() << "systemd-analyze is not installed";
  UnitCopies units;
  for (const auto& f : units.files) {
    if (!f.ends_with(".service")) continue;
    // Exposure 0.0 (locked down) .. 10.0 (unprotected); --threshold counts in tenths.
    auto r = run_command({kAnalyze, "security", "--offline=true", "--threshold=20", f});
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << r.out << r.err;
  }
}

TEST(OpsFiles, ServeUnitSaysWhatTheDesignPromises) {
  auto u = read_unit(kSystemd / "chatglmd.service");
  EXPECT_EQ(one(u, "Service.Type"), "notify");
  EXPECT_EQ(one(u, "Service.ExecStart"),
            fmt::format("{} -c {} serve", kInstalledBin, kInstalledIni));
  EXPECT_EQ(one(u, "Service.ExecReload"), "/bin/kill -HUP $MAINPID");
  EXPECT_EQ(one(u, "Service.WatchdogSec"), "30s");
  EXPECT_EQ(one(u, "Service.Restart"), "on-failure");
  EXPECT_EQ(one(u, "Service.User"), "chatglmd");
  EXPECT_EQ(one(u, "Service.DynamicUser"), "no");
  EXPECT_EQ(one(u, "Service.StateDirectory"), "chatglmd");
  EXPECT_EQ(one(u, "Service.ConfigurationDirectory"), "chatglmd");
  EXPECT_EQ(one(u, "Service.ProtectSystem"), "strict");
  EXPECT_EQ(one(u, "Service.ProtectHome"), "yes");
  EXPECT_EQ(one(u, "Service.PrivateTmp"), "yes");
  EXPECT_EQ(one(u, "Service.NoNewPrivileges"), "yes");
  EXPECT_EQ(one(u, "Service.RestrictAddressFamilies"), "AF_INET AF_INET6 AF_UNIX");
  EXPECT_EQ(one(u, "Service.CapabilityBoundingSet"), "");
  EXPECT_NE(u.find("Service.SystemCallFilter"), u.end());
  EXPECT_EQ(u.find("Service.SystemCallFilter")->second, "@system-service");
  // Longer than serve's default stop budget plus the 5 s it allows itself to cancel what is
  // left, so a stop ends on its own (exit 0, what was cut short logged) before SIGKILL.
  auto stop = app::parse_duration(one(u, "Service.TimeoutStopSec"));
  ASSERT_TRUE(stop) << one(u, "Service.TimeoutStopSec");
  EXPECT_GT(*stop, app::kDefaultDrain + core::Millis{std::chrono::seconds(5)});
  EXPECT_LE(*stop, core::Millis{std::chrono::seconds(40)});
  // The manual page comes first; the README is what the install steps copy.
  EXPECT_EQ(one(u, "Unit.Documentation"), "man:chatglmd(8) file:/usr/share/doc/chatglmd/README.md");

  // `serve` is a command the binary knows.
  auto help = run_command({CHATGLMD_BIN, "--help"});
  EXPECT_NE(help.out.find("\n  serve "), std::string::npos) << help.out;
}

TEST(OpsFiles, EveryJobHasATimerAndAOneShotService) {
  std::set<std::string> expected = {"chatglmd.service"};
  for (const auto& job : job_names()) {
    const std::string base = "chatglmd-" + job;
    expected.insert(base + ".service");
    expected.insert(base + ".timer");
    auto s = read_unit(kSystemd / (base + ".service"));
    EXPECT_EQ(one(s, "Service.Type"), "oneshot") << job;
    EXPECT_EQ(one(s, "Service.ExecStart"),
              fmt::format("{} -c {} jobs run {}", kInstalledBin, kInstalledIni, job));
    EXPECT_EQ(one(s, "Service.SuccessExitStatus"), "75") << job;
    EXPECT_EQ(one(s, "Service.User"), "chatglmd") << job;
    EXPECT_EQ(one(s, "Service.ProtectSystem"), "strict") << job;
    auto t = read_unit(kSystemd / (base + ".timer"));
    EXPECT_EQ(one(t, "Timer.Unit"), base + ".service") << job;
    EXPECT_EQ(one(t, "Install.WantedBy"), "timers.target") << job;
  }
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(kSystemd))
    present.insert(entry.path().filename().string());
  EXPECT_EQ(present, expected);
}

// One cron time field: *, N, A-B, lists of those, each optionally /STEP, within [lo, hi].
bool cron_field_ok(const std::string& field, int lo, int hi) {
  static const std::regex item(R"((\*|(\d+)(-(\d+))?)(/(\d+))?)");
  std::stringstream parts(field);
  std::string part;
  int count = 0;
  while (std::getline(parts, part, ',')) {
    ++count;
    std::smatch m;
    if (!std::regex_match(part, m, item)) return false;
    if (m[2].matched) {
      int a = std::stoi(m[2]), b = m[4].matched ? std::stoi(m[4]) : a;
      if (a < lo || b > hi || a > b) return false;
    }
    if (m[6].matched && std::stoi(m[6]) == 0) return false;
  }
  return count > 0 && field.back() != ',';
}

TEST(OpsFiles, CronFieldCheckerRejectsNonsense) {
  EXPECT_TRUE(cron_field_ok("*", 0, 59));
  EXPECT_TRUE(cron_field_ok("*/5", 0, 59));
  EXPECT_TRUE(cron_field_ok("1,2,10-20/2", 0, 59));
  EXPECT_FALSE(cron_field_ok("60", 0, 59));
  EXPECT_FALSE(cron_field_ok("5-1", 0, 59));
  EXPECT_FALSE(cron_field_ok("*/0", 0, 59));
  EXPECT_FALSE(cron_field_ok("x", 0, 59));
  EXPECT_FALSE(cron_field_ok("1,", 0, 59));
}

TEST(OpsFiles, CronLinesAreWellFormedAndRunRealCommands) {
  DaemonHarness d{DaemonOptions{{}, {}, false}};  // a config to run the commands against
  const std::string text = read_file(kCron);
  std::istringstream in(text);
  std::string line;
  std::map<std::string, int> lines_per_job;
  const std::pair<int, int> ranges[] = {{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}};
  while (std::getline(in, line)) {
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    if (std::regex_match(line, std::regex(R"([A-Z_]+=\S.*)"))) continue;  // SHELL=, PATH=
    ASSERT_GE(w.size(), 7u) << "want 5 time fields, a user and a command: " << line;
    for (int i = 0; i < 5; ++i)
      EXPECT_TRUE(cron_field_ok(w[i], ranges[i].first, ranges[i].second)) << line;
    EXPECT_EQ(w[5], "chatglmd") << line;
    // Cron must see the command's own exit code and mail its stderr: no pipe, no redirection.
    std::string command = line.substr(line.find(kInstalledBin));
    EXPECT_EQ(command.find_first_of("|>&;"), std::string::npos) << line;
    std::vector<std::string> argv(w.begin() + 6, w.end());
    ASSERT_GE(argv.size(), 6u) << line;
    EXPECT_EQ(argv[0], kInstalledBin);
    ASSERT_EQ(argv[1], "-c");
    EXPECT_EQ(argv[2], kInstalledIni);
    auto run_at = std::find(argv.begin(), argv.end(), "run");
    ASSERT_NE(run_at, argv.end()) << line;
    ASSERT_EQ(std::prev(run_at)->c_str(), std::string("jobs"));
    ASSERT_NE(std::next(run_at), argv.end());
    ++lines_per_job[*std::next(run_at)];
    // The line as cron runs it (through SHELL), against the built binary and a test config;
    // --dry-run so it only asks. A run that went well prints nothing: cron mails nothing.
    command.replace(command.find(kInstalledBin), std::string(kInstalledBin).size(), CHATGLMD_BIN);
    command.replace(command.find(kInstalledIni), std::string(kInstalledIni).size(), d.ini());
    auto ok = run_command({"/bin/sh", "-c", command + " --dry-run"});
    EXPECT_EQ(ok.exit_code, 0) << line << "\n" << ok.err;
    EXPECT_EQ(ok.out, "") << line;
    EXPECT_EQ(ok.err, "") << line;
    // A broken configuration: cron sees exit 2 and gets the reason on stderr to mail.
    auto broken = run_command({"/bin/sh", "-c", command}, {{"CHATGLMD_JOBS_NO_SUCH_KEY", "1"}});
    EXPECT_EQ(broken.exit_code, 2) << line << "\n" << broken.err;
    EXPECT_NE(broken.err.find("CHATGLMD_JOBS_NO_SUCH_KEY"), std::string::npos) << broken.err;
    EXPECT_EQ(broken.out, "") << line;
  }
  std::map<std::string, int> expected;
  for (const auto& job : job_names()) expected[job] = 1;
  EXPECT_EQ(lines_per_job, expected);
  // The note for cron hosts: turn the built-in scheduler off, job by job.
  for (const auto& job : job_names())
    EXPECT_NE(text.find("[jobs." + job + "]"), std::string::npos) << job;
  EXPECT_NE(text.find("enabled = false"), std::string::npos);
  EXPECT_EQ(text.find("logger"), std::string::npos) << "cron mails stderr; no syslog pipe";
}

}  // namespace
}  // namespace chatglmd::testing
