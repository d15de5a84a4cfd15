// `serve` lifts its own open-files soft limit to the hard one, so thousands of streams work when
// it is started by hand with a shell's 1024 (systemd's LimitNOFILE is not there to help).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <sstream>
#include <string>

#include "support/daemon_harness.hpp"

namespace chatglmd::testing {
namespace {

// The "Max open files" soft and hard values of a running process.
std::pair<std::string, std::string> open_files_limit(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("Max open files")) continue;
    std::istringstream fields(line.substr(std::string("Max open files").size()));
    std::string soft, hard;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {};
}

TEST(OpenFiles, ServeRaisesItsSoftLimitToTheHardLimitAndLogsIt) {
  rlimit mine{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &mine), 0);
  constexpr rlim_t kLow = 256;  // enough for the sim and the daemon to start
  if (mine.rlim_max <= kLow)
    GTEST_SKIP() << "hard limit " << mine.rlim_max << " leaves nothing to raise";
  // Children inherit the low soft limit, as they would from a login shell.
  rlimit low = mine;
  low.rlim_cur = kLow;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  struct Restore {
    rlimit limit;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
  } restore{mine};

  DaemonHarness d(DaemonOptions{{{"log.level", "debug"}}, {}, true});
  const std::string hard =
      mine.rlim_max == RLIM_INFINITY ? "unlimited" : std::to_string(mine.rlim_max);
  auto [soft_now, hard_now] = open_files_limit(d.pid());
  EXPECT_EQ(hard_now, hard);
  EXPECT_EQ(soft_now, hard);
  EXPECT_NE(d.log().find("open files limit: " + hard), std::string::npos) << d.log();
  EXPECT_EQ(d.terminate(), 0);
}

}  // namespace
}  // namespace chatglmd::testing
