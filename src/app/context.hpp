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
#include "store/open_result.hpp"
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
  // Where the store is, for messages: the SQLite file, or "PostgreSQL at host=... dbname=..."
  // (never the password).
  std::string store_name() const;
  // `error`, followed for an SQLite file by why this process cannot write it (if so).
  std::string explain_store_error(const std::string& error) const;
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
// Opens the configured backend (store.url, else the SQLite file at store.path), reading
// store.password_file for PostgreSQL.
store::OpenResult open_configured_store(const Config& config, bool migrate);
// --limit N as a whole number from 1 to 1,000,000; nothing when it is anything else.
std::optional<int> limit_flag(const CommandContext& ctx);

int run_admin_command(CommandContext& ctx);  // order, user, product, words, whitelist
int run_jobs_command(CommandContext& ctx);   // jobs list/history/run
int run_order_command(CommandContext& ctx);
int run_serve(CommandContext& ctx);
int run_check_config(CommandContext& ctx);
int run_backup(CommandContext& ctx);         // backup FILE
int run_usage_command(CommandContext& ctx);  // usage [--since T] [--by day|model|user]
int run_store_command(CommandContext& ctx);  // store copy --from sqlite:PATH --to URL
int run_words_scan(CommandContext& ctx, store::Store& s);  // words scan [FILE|-]

}  // namespace chatglmd::app
