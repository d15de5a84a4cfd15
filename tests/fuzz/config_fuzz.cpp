// The config file parser (INI sections and keys, then every value's own parser: durations,
// sizes, addresses, CIDR lists, paths). Properties: a file that loads gives a config with no
// restart-only difference from itself, and loads the same the second time.
#include <unistd.h>

#include <cstdio>

#include "app/config.hpp"
#include "fuzz/fuzz_support.hpp"
#ifndef CHATGLMD_FUZZ
#include "jobs/registry.hpp"
#endif

using namespace chatglmd;

namespace {

// The fuzz build has no jobs (they need the store and the network): the registry's job names with
// default settings. The replay build checks the names against the registry, so they cannot drift.
std::map<std::string, jobs::JobSettings> job_defaults() {
  std::map<std::string, jobs::JobSettings> out;
  for (const char* name : {"timeout-close", "replenish-shipment", "reconcile", "close-followup",
                           "refund-query", "chat-log-prune"})
    out[name] = jobs::JobSettings{};
#ifndef CHATGLMD_FUZZ
  auto registry = jobs::default_settings();
  FUZZ_CHECK(registry.size() == out.size());
  for (const auto& [name, settings] : registry) FUZZ_CHECK(out.count(name) == 1);
  out = registry;
#endif
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto defaults = job_defaults();
  // One file per process, rewritten for every input (load_config reads a path, as chatglmd -c).
  static const std::string path = [] {
    std::string name = "/tmp/chatglmd-config-fuzz-XXXXXX";
    int fd = ::mkstemp(name.data());
    FUZZ_CHECK(fd >= 0);
    ::close(fd);
    std::atexit([] { std::remove(path.c_str()); });
    return name;
  }();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    FUZZ_CHECK(f != nullptr);
    FUZZ_CHECK(std::fwrite(data, 1, size, f) == size);
    std::fclose(f);
  }
  app::ConfigSources sources;
  sources.file = path;
  auto first = app::load_config(sources, defaults);
  FUZZ_CHECK(first.config.has_value() != !first.error.empty());
  if (!first.config) return 0;
  FUZZ_CHECK(app::restart_only_changes(*first.config, *first.config).empty());
  auto second = app::load_config(sources, defaults);
  FUZZ_CHECK(second.config.has_value());
  FUZZ_CHECK(app::restart_only_changes(*first.config, *second.config).empty());
  return 0;
}
