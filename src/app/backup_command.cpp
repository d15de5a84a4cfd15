// `chatglmd backup FILE`: an online copy of the store for the operator's backup rotation.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "app/context.hpp"
#include "app/output.hpp"
#include "store/sqlite_backup.hpp"

namespace chatglmd::app {
namespace {

// The stores backup cannot copy, with what to use instead: a PostgreSQL store (store.url, or
// `--db postgresql://...`, which sets it). A URL in store.path has been resolved as a file name
// by the config loader (`postgresql://h/db` becomes `/cwd/postgresql:/h/db`), hence the search
// anywhere in it.
std::optional<std::string> unsupported_store(const Config& config) {
  const std::string& path = config.store.path;
  if (!config.store.url.empty() || path.find("postgresql:/") != std::string::npos ||
      path.find("postgres:/") != std::string::npos)
    return "backup copies SQLite stores; back up a PostgreSQL store with pg_dump";
  return std::nullopt;
}

std::string human_size(std::int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

}  // namespace

int run_backup(CommandContext& ctx) {
  if (auto e = check_shape(ctx.inv, 2, 2, {}); !e.empty()) return usage_error(ctx, e);
  if (auto why = unsupported_store(ctx.config)) return usage_error(ctx, *why);
  const std::string& target = ctx.inv.words[1];
  // Like every command but migrate and serve: no database is a setup mistake, not a failure.
  if (std::error_code ec; !std::filesystem::exists(ctx.config.store.path, ec)) {
    ctx.err << "chatglmd: no database at " << ctx.config.store.path << " (run chatglmd migrate)\n";
    return kExitUsage;
  }
  const auto started = std::chrono::steady_clock::now();
  auto result = store::backup_sqlite(ctx.config.store.path, target);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!result.ok) {
    ctx.err << "chatglmd: " << result.error << "\n";
    return kExitFailed;
  }
  if (ctx.inv.json) {
    print_record(ctx.out,
                 {{"file", boost::json::value(target)},
                  {"bytes", result.bytes},
                  {"pages", result.pages},
                  {"seconds", seconds},
                  {"integrity", "ok"}},
                 true);
  } else {
    ctx.out << fmt::format("backup {}: {} ({} bytes) in {:.2f} s, integrity_check ok\n", target,
                           human_size(result.bytes), result.bytes, seconds);
  }
  return kExitOk;
}

}  // namespace chatglmd::app
