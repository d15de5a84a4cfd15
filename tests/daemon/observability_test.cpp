// What monitoring reads from a live daemon: the build it runs, its readiness, and every metric
// the shipped Grafana dashboard and Prometheus rules use (contrib/), which must exist in
// /metrics, or the panel stays empty and the alert never fires.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "daemon_client.hpp"

namespace chatglmd::testing {
namespace {

namespace fs = std::filesystem;
const fs::path kContrib = fs::path(CHATGLMD_SOURCE_DIR) / "contrib";

// Metric names a /metrics page exposes, with a histogram's _bucket, _sum and _count series.
std::set<std::string> exposed_names(const std::string& page) {
  std::set<std::string> names;
  const std::regex type(R"(^# TYPE (\S+) (\S+)$)");
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, type)) continue;
    names.insert(m[1]);
    if (m[2] == "histogram")
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(m[1].str() + suffix);
  }
  return names;
}

std::set<std::string> used_names(const std::string& text) {
  std::set<std::string> names;
  const std::regex name(R"(chatglmd_[a-z_]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it)
    names.insert(it->str());
  return names;
}

// Every PromQL expression of the dashboard: panel targets and template queries.
void collect_exprs(const boost::json::value& v, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (const auto& [key, member] : v.as_object()) {
      if ((key == "expr" || key == "definition") && member.is_string())
        out.emplace_back(member.as_string());
      else
        collect_exprs(member, out);
    }
  } else if (v.is_array()) {
    for (const auto& item : v.as_array()) collect_exprs(item, out);
  }
}

std::vector<std::string> dashboard_exprs() {
  std::vector<std::string> exprs;
  collect_exprs(boost::json::parse(read_file(kContrib / "grafana/chatglmd.json")), exprs);
  return exprs;
}

std::string which(const std::string& tool) {
  auto r = run_command({"/bin/sh", "-c", "command -v " + tool});
  return r.exit_code == 0 ? r.out.substr(0, r.out.find('\n')) : "";
}

class Observability : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = new DaemonHarness(); }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
  }
  static std::string metrics_page() {
    auto r = daemon_->request("GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body;
  }
  static DaemonHarness* daemon_;
};
DaemonHarness* Observability::daemon_ = nullptr;

TEST_F(Observability, VersionAndBuildInfoNameTheSameBuild) {
  auto v = run_command({CHATGLMD_BIN, "--version"});
  ASSERT_EQ(v.exit_code, 0);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(v.out, m, std::regex(R"(chatglmd (\d+\.\d+\.\d+) \((\S+)\)\n)")))
      << v.out;
  const std::string version = m[1], build = m[2];
  EXPECT_EQ(metric_value(*daemon_, "chatglmd_build_info{version=\"" + version + "\",build=\"" +
                                       build + "\"}"),
            1.0)
      << metrics_page();
  // The build is `git describe` of the tree it was built from.
  if (fs::exists(fs::path(CHATGLMD_SOURCE_DIR) / ".git")) {
    auto head =
        run_command({"/usr/bin/git", "-C", CHATGLMD_SOURCE_DIR, "describe", "--tags", "--always"});
    ASSERT_EQ(head.exit_code, 0) << head.err;
    const std::string described = head.out.substr(0, head.out.find('\n'));
    EXPECT_TRUE(build == described || build == described + "-dirty")
        << "build " << build << ", HEAD is " << described << " (rebuild after committing)";
  }
}

TEST_F(Observability, ReadyGaugeFollowsReadiness) {
  EXPECT_EQ(daemon_->request("GET", "/readyz").status, 200);
  EXPECT_EQ(metric_value(*daemon_, "chatglmd_ready"), 1.0) << metrics_page();
}

TEST_F(Observability, JobThresholdsAreExposed) {
  EXPECT_EQ(metric_value(*daemon_, "chatglmd_job_due_after_seconds{job=\"timeout-close\"}"),
            1800.0);
  EXPECT_EQ(metric_value(*daemon_, "chatglmd_job_due_after_seconds{job=\"replenish-shipment\"}"),
            180.0);
}

TEST_F(Observability, EveryMetricOfTheDashboardAndRulesExists) {
  const auto exposed = exposed_names(metrics_page());
  ASSERT_GT(exposed.size(), 15u);
  std::set<std::string> used;
  for (const auto& e : dashboard_exprs()) used.merge(used_names(e));
  ASSERT_GT(used.size(), 10u);
  used.merge(used_names(read_file(kContrib / "prometheus/chatglmd.rules.yml")));
  used.merge(used_names(read_file(kContrib / "prometheus/chatglmd.rules.test.yml")));
  for (const auto& name : used) EXPECT_TRUE(exposed.count(name)) << name << " is not in /metrics";
  // The check is not blind: a misspelt name is caught.
  EXPECT_FALSE(exposed.count("chatglmd_job_backlogs"));
}

// Each dashboard expression is valid PromQL: promtool checks them as recording rules.
TEST_F(Observability, DashboardQueriesParse) {
  const std::string promtool = which("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  TempDir dir;
  std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
  int n = 0;
  for (auto e : dashboard_exprs()) {
    for (std::size_t at; (at = e.find("$instance")) != std::string::npos;) e.replace(at, 9, ".*");
    if (e.rfind("label_values(", 0) == 0) continue;  // a Grafana function, not PromQL
    std::string quoted;
    for (char c : e) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    rules +=
        "      - record: dashboard:q" + std::to_string(++n) + "\n        expr: '" + quoted + "'\n";
  }
  write_file(dir.file("dashboard.rules.yml"), rules);
  auto r = run_command({promtool, "check", "rules", dir.file("dashboard.rules.yml")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << rules;
}

}  // namespace
}  // namespace chatglmd::testing
