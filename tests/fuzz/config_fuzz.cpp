// The config file parser (INI sections and keys, then every value's own parser: durations,
// sizes, addresses, CIDR lists, paths). Properties: a file that loads gives a config with no
// restart-only difference from itself, and loads the same the second time.
#include <unistd.h>

#include <cstdio>

#include "app/config.hpp"
#include "fuzz/fuzz_support.hpp"
#include "jobs/registry.hpp"

using namespace chatglmd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto job_defaults = jobs::default_settings();
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
  auto first = app::load_config(sources, job_defaults);
  FUZZ_CHECK(first.config.has_value() != !first.error.empty());
  if (!first.config) return 0;
  FUZZ_CHECK(app::restart_only_changes(*first.config, *first.config).empty());
  auto second = app::load_config(sources, job_defaults);
  FUZZ_CHECK(second.config.has_value());
  FUZZ_CHECK(app::restart_only_changes(*first.config, *second.config).empty());
  return 0;
}
