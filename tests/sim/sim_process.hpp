#pragma once
// Runs chatglmd-sim for a test: picks its own port (--port 0 + --port-file), waits until it
// listens, stops it with SIGTERM when the object dies (and it exits by itself after a minute
// idle if the test process is killed).
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::testing {

class SimProcess {
 public:
  static constexpr const char* kGlmApiKey = "simtestid.simtestsecret0123";
  explicit SimProcess(std::vector<std::string> extra_args = {});
  ~SimProcess();
  int port() const { return port_; }
  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Sends SIGTERM and returns the exit code (-1 when it did not exit within the limit).
  int terminate();
  std::string log() const;

 private:
  TempDir dir_;
  std::unique_ptr<BackgroundProcess> process_;
  int port_ = 0;
};

}  // namespace chatglmd::testing
