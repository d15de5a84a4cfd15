#pragma once
// What every command gets: the parsed command line, the configuration, the clock, the store
// (opened on first use), and where to print.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "app/cli.hpp"
#include "app/config.hpp"
#include "core/time.hpp"
#include "store/store.hpp"

namespace chatglmd::pay {
class PaymentGateway;
}

namespace chatglmd::app {

class GatewayRuntime;

struct CommandContext {
  Invocation inv;
  ConfigSources config_sources;  // what `config` was loaded from; a reload reads them again
  Config config;
  core::SystemClock clock;
  std::ostream& out = std::cout;
  std::ostream& err = std::cerr;

  // Opens the store; prints the reason and returns null on error (callers exit kExitUsage). Only
  // `migrate` and `serve` create or upgrade a database: every other command needs an existing
  // one at the current schema, so a wrong path or working directory never grows a new, empty one.
  enum class StoreAccess { existing, create_or_upgrade };
  store::Store* open_store(StoreAccess access = StoreAccess::existing);
  // Builds the Alipay adapter and its network thread; prints the reason and returns null on error.
  pay::PaymentGateway* open_gateway();
  std::string lease_owner(std::string_view role) const;

  CommandContext();
  ~CommandContext();

 private:
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<GatewayRuntime> gateway_;
};

int usage_error(CommandContext& ctx, const std::string& message);
// --limit N as a whole number from 1 to 1,000,000; nothing when it is anything else.
std::optional<int> limit_flag(const CommandContext& ctx);

int run_admin_command(CommandContext& ctx);  // order, user, product, words, whitelist
int run_jobs_command(CommandContext& ctx);   // jobs list/history/run
int run_order_command(CommandContext& ctx);
int run_serve(CommandContext& ctx);
int run_check_config(CommandContext& ctx);
int run_backup(CommandContext& ctx);                       // backup FILE
int run_words_scan(CommandContext& ctx, store::Store& s);  // words scan [FILE|-]

}  // namespace chatglmd::app
