// `chatglmd store copy --from sqlite:PATH --to postgresql://...`: moving a deployment from its
// SQLite file to PostgreSQL (see store/store_copy.hpp).
#include <fmt/format.h>

#include <boost/json.hpp>

#include "app/context.hpp"
#include "app/output.hpp"
#include "store/open_store.hpp"
#include "store/store_copy.hpp"

namespace chatglmd::app {

int run_store_command(CommandContext& ctx) {
  if (auto e = check_shape(ctx.inv, 2, 2, {"from", "to"}); !e.empty()) return usage_error(ctx, e);
  if (ctx.inv.words[1] != "copy")
    return usage_error(ctx, "unknown store command '" + ctx.inv.words[1] + "'");
  if (!ctx.inv.flags.count("from") || !ctx.inv.flags.count("to"))
    return usage_error(ctx, "store copy needs --from sqlite:PATH and --to postgresql://...");
  const std::string& from = ctx.inv.flags.at("from");
  const std::string& to = ctx.inv.flags.at("to");
  if (from.rfind("sqlite:", 0) != 0 || from.size() == 7)
    return usage_error(ctx, "--from must be sqlite:PATH");
  if (!store::is_postgres_url(to)) return usage_error(ctx, "--to must be a postgresql:// URL");
  // The target's password: store.password_file when set, else libpq's own (PGPASSFILE).
  std::string password;
  if (!ctx.config.store.password_file.empty()) {
    std::string error;
    auto read = read_secret_file(ctx.config.store.password_file, error);
    if (!read) return usage_error(ctx, "store.password_file: " + error);
    password = std::move(*read);
  }
  const std::string target = store::describe_store({to});
  auto report = store::copy_sqlite_to_pg(from.substr(7), {to, password, true});
  if (!report.ok) {
    ctx.err << "chatglmd: store copy to " << target << " failed: " << report.error << "\n";
    return kExitFailed;
  }
  std::vector<Record> rows;
  for (const auto& t : report.tables)
    rows.push_back({{"table", boost::json::value(t.name)}, {"rows", t.rows}});
  if (ctx.inv.json) {
    boost::json::array tables;
    for (const auto& t : report.tables) {
      boost::json::object row;
      row["table"] = t.name;
      row["rows"] = t.rows;
      tables.push_back(std::move(row));
    }
    print_record(ctx.out,
                 {{"target", boost::json::value(target)},
                  {"tables", std::move(tables)},
                  {"totalQuota", report.total_quota},
                  {"surplusQuota", report.surplus_quota},
                  {"paidFen", report.paid_fen},
                  {"seconds", report.seconds}},
                 true);
    return kExitOk;
  }
  print_table(ctx.out, rows, false);
  ctx.out << fmt::format(
      "copied to {} in {:.2f} s; checked on both sides: row counts, quota {} (surplus {}), paid "
      "{} fen\n",
      target, report.seconds, report.total_quota, report.surplus_quota, report.paid_fen);
  return kExitOk;
}

}  // namespace chatglmd::app
