#include <spdlog/spdlog.h>

#include <iostream>

#include "app/context.hpp"
#include "app/logging.hpp"
#include "app/store_access.hpp"
#include "app/version.hpp"
#include "jobs/registry.hpp"
#include "store/open_store.hpp"
#include "store/sqlite_db.hpp"

namespace chatglmd::app {
namespace {

int migrate_command(CommandContext& ctx) {
  if (auto e = check_shape(ctx.inv, 1, 1, {}); !e.empty()) return usage_error(ctx, e);
  auto opened = open_configured_store(ctx.config, true);
  if (!opened.store) {
    ctx.err << "chatglmd: " << ctx.explain_store_error(opened.error) << "\n";
    return kExitFailed;
  }
  const auto& m = opened.migration;
  if (ctx.inv.json) {
    ctx.out << "{\"from\":" << m.from_version << ",\"to\":" << m.to_version
            << ",\"applied\":" << m.applied.size() << "}\n";
  } else if (m.applied.empty()) {
    ctx.out << "schema is up to date (version " << m.to_version << ")\n";
  } else {
    for (const auto& name : m.applied) ctx.out << "applied " << name << "\n";
    ctx.out << "schema version " << m.from_version << " -> " << m.to_version << "\n";
  }
  return kExitOk;
}

int dispatch(CommandContext& ctx) {
  const std::string& cmd = ctx.inv.words[0];
  if (cmd == "serve") return run_serve(ctx);
  if (cmd == "migrate") return migrate_command(ctx);
  if (cmd == "check-config") return run_check_config(ctx);
  if (cmd == "backup") return run_backup(ctx);
  if (cmd == "store") return run_store_command(ctx);
  if (cmd == "jobs") return run_jobs_command(ctx);
  if (cmd == "order") return run_order_command(ctx);
  if (cmd == "usage") return run_usage_command(ctx);
  if (cmd == "user" || cmd == "product" || cmd == "words" || cmd == "whitelist")
    return run_admin_command(ctx);
  return usage_error(ctx, "unknown command '" + cmd + "'");
}

}  // namespace

int main_entry(int argc, char** argv) {
  auto parsed = parse_command_line(argc, argv);
  if (!parsed.invocation) {
    std::cerr << "chatglmd: " << parsed.error << "\n\n";
    print_usage(std::cerr);
    return kExitUsage;
  }
  CommandContext ctx;
  ctx.inv = std::move(*parsed.invocation);
  if (ctx.inv.version) {
    std::cout << version_line() << "\n";
    return kExitOk;
  }
  if (ctx.inv.help) {
    print_usage(std::cout);
    return kExitOk;
  }
  const auto job_defaults = jobs::default_settings();
  if (ctx.inv.help_config) {
    for (const auto& [key, def] : describe_keys(job_defaults))
      std::cout << key << " = " << def << "    (" << env_name_for(key) << ")\n";
    return kExitOk;
  }
  if (ctx.inv.words.empty()) {
    std::cerr << "chatglmd: no command given\n\n";
    print_usage(std::cerr);
    return kExitUsage;
  }
  ConfigSources& sources = ctx.config_sources;
  sources = {ctx.inv.config_file, process_environment(), {}};
  // --db takes a file or a postgresql:// URL, as the store section's two keys do.
  if (ctx.inv.db)
    sources.overrides[store::is_postgres_url(*ctx.inv.db) ? "store.url" : "store.path"] =
        *ctx.inv.db;
  if (ctx.inv.log_level) sources.overrides["log.level"] = *ctx.inv.log_level;
  auto loaded = load_config(sources, job_defaults);
  if (!loaded.config) {
    std::cerr << "chatglmd: configuration: " << loaded.error << "\n";
    return kExitUsage;
  }
  ctx.config = std::move(*loaded.config);
  setup_logging(ctx.config.log_level);
  try {
    return dispatch(ctx);
  } catch (const store::StoreError& e) {
    spdlog::critical("store error: {}", ctx.explain_store_error(e.what()));
    return kExitFailed;
  } catch (const std::exception& e) {
    // A bug or a broken invariant: said, and a failure exit, rather than std::terminate.
    spdlog::critical("{}", e.what());
    return kExitFailed;
  }
}

}  // namespace chatglmd::app

int main(int argc, char** argv) {
  return chatglmd::app::main_entry(argc, argv);
}
