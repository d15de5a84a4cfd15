#pragma once
// Runs real binaries for tests: one-shot commands with captured output, and background
// servers that are killed when the object dies (so a failing test leaves nothing running).
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace chatglmd::testing {

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Runs argv[0] with the given extra environment and waits for it; stdin is /dev/null.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {},
                          const std::string& stdin_text = "");

class BackgroundProcess {
 public:
  // stdout and stderr go to log_path (appended).
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& log_path,
                    const std::map<std::string, std::string>& env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for exit; returns the exit code (128+N for a signal) or -1 on timeout.
  int wait(std::chrono::milliseconds limit);
  bool running();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// Polls until the predicate holds or the limit passes. This waits for another process to get
// somewhere (a port to open); it never stands in for a timer in the code under test.
bool eventually(const std::function<bool()>& predicate,
                std::chrono::milliseconds limit = std::chrono::seconds(20));

}  // namespace chatglmd::testing
