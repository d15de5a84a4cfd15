// `usage` and the usage part of `user show`: sums of the usage log (chat_log).
#include <fmt/format.h>

#include "app/context.hpp"
#include "app/durations.hpp"
#include "app/output.hpp"
#include "app/usage_report.hpp"
#include "core/usage.hpp"

namespace chatglmd::app {

Record usage_record(const store::UsageRow& r, std::string_view key_name) {
  return {{std::string(key_name), r.key.c_str()},
          {"chats", r.chats},
          {"answered", r.answered},
          {"promptTokens", r.prompt_tokens},
          {"completionTokens", r.completion_tokens}};
}

std::vector<Record> usage_records(const std::vector<store::UsageRow>& rows,
                                  std::string_view key_name) {
  std::vector<Record> out;
  for (const auto& r : rows) out.push_back(usage_record(r, key_name));
  return out;
}

core::UtcMs usage_window_start(core::UtcMs now, int days) {
  // Whole Beijing days: today and the days before it.
  const auto today = core::beijing_day_number(now);
  return core::UtcMs{(today - days + 1) * core::kDayMs - core::kBeijingOffsetMs};
}

int run_usage_command(CommandContext& ctx) {
  if (auto e = check_shape(ctx.inv, 1, 1, {"since", "by"}); !e.empty()) return usage_error(ctx, e);
  const auto now = ctx.clock.now();
  core::UtcMs since = usage_window_start(now, kDefaultUsageDays);
  if (ctx.inv.flags.count("since")) {
    const std::string& text = ctx.inv.flags.at("since");
    if (auto day = core::parse_beijing_day(text)) {
      since = *day;
    } else if (auto ago = parse_duration(text)) {
      since = now - *ago;
    } else {
      return usage_error(ctx, "--since takes a Beijing date YYYY-MM-DD or a duration such as 7d");
    }
  }
  store::UsageQuery q;
  q.since = since;
  std::string key_name = "day";
  const std::string by = ctx.inv.flags.count("by") ? ctx.inv.flags.at("by") : "day";
  if (by == "day") {
    q.by = store::UsageGrouping::Day;
  } else if (by == "model") {
    q.by = store::UsageGrouping::Model;
    key_name = "model";
  } else if (by == "user") {
    q.by = store::UsageGrouping::User;
    key_name = "openid";
  } else {
    return usage_error(ctx, "--by takes day, model or user");
  }
  store::Store* s = ctx.open_store();
  if (!s) return kExitUsage;
  // One row more than shown tells a cut list from a complete one: a cut is said, on stderr so
  // that --json stays one array.
  const int shown = q.limit;
  q.limit = shown + 1;
  auto rows = s->chat_log().usage(q);
  const bool cut = rows.size() > static_cast<std::size_t>(shown);
  if (cut) rows.resize(static_cast<std::size_t>(shown));
  print_table(ctx.out, usage_records(rows, key_name), ctx.inv.json);
  if (cut)
    ctx.err << fmt::format("only the first {} {}s are shown (most chats first); narrow --since\n",
                           shown, by);
  return kExitOk;
}

}  // namespace chatglmd::app
