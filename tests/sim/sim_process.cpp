#include "sim_process.hpp"

#include <csignal>
#include <filesystem>
#include <stdexcept>

#include "support/ports.hpp"

namespace chatglmd::testing {

SimProcess::SimProcess(std::vector<std::string> extra_args) {
  const std::string port_file = dir_.file("port");
  std::vector<std::string> argv = {
      CHATGLMD_SIM_BIN,    "--port", "0", "--port-file", port_file, "--glm-api-key", kGlmApiKey,
      "--exit-after-idle", "60"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<BackgroundProcess>(argv, dir_.file("sim.log"));
  const bool ready = eventually([&] {
    if (!std::filesystem::exists(port_file))
      return !process_->running();  // stop waiting if it died
    port_ = std::stoi(read_file(port_file));
    return port_ > 0 && port_open(port_);
  });
  if (!ready || port_ <= 0) throw std::runtime_error("chatglmd-sim did not start: " + log());
}

SimProcess::~SimProcess() {
  if (process_ && process_->running()) terminate();
}

int SimProcess::terminate() {
  process_->signal(SIGTERM);
  return process_->wait(std::chrono::seconds(10));
}

std::string SimProcess::log() const {
  std::error_code ec;
  if (!std::filesystem::exists(dir_.file("sim.log"), ec)) return {};
  return read_file(dir_.file("sim.log"));
}

}  // namespace chatglmd::testing
