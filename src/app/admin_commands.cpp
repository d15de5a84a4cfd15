// user, product, words and whitelist: small admin commands over the store.
#include <fmt/format.h>

#include "app/context.hpp"
#include "app/durations.hpp"
#include "app/output.hpp"
#include "app/usage_report.hpp"
#include "core/money.hpp"
#include "filter/word_file.hpp"
#include "llm/jwt.hpp"

namespace chatglmd::app {
namespace {

Record account_record(const store::Account& a) {
  return {{"openid", a.openid.c_str()},
          {"totalQuota", a.total_quota},
          {"surplusQuota", a.surplus_quota},
          {"modelTypes", a.model_types.c_str()},
          {"status", a.status == store::AccountStatus::Frozen ? "frozen" : "ok"}};
}

Record product_record(const store::Product& p) {
  return {{"productId", p.product_id},
          {"productName", p.name.c_str()},
          {"price", core::format_yuan(p.price).c_str()},
          {"priceFen", p.price.value},
          {"quota", p.quota},
          {"models", p.model_types.c_str()},
          {"enabled", p.enabled},
          {"sort", p.sort},
          {"productDesc", p.desc.c_str()}};
}

int user_command(CommandContext& ctx, store::Store& s) {
  const auto& w = ctx.inv.words;
  const std::string sub = w.size() > 1 ? w[1] : "";
  if (sub == "add") {
    if (auto e = check_shape(ctx.inv, 3, 3, {"quota", "models"}); !e.empty())
      return usage_error(ctx, e);
    std::int64_t quota = 0;
    if (ctx.inv.flags.count("quota")) {
      auto q = parse_integer(ctx.inv.flags.at("quota"));
      if (!q || *q < 0) return usage_error(ctx, "--quota must be a whole number >= 0");
      quota = *q;
    }
    std::string models = ctx.inv.flags.count("models") ? ctx.inv.flags.at("models") : "";
    if (!s.accounts().create(
            store::Account{w[2], quota, quota, models, store::AccountStatus::Ok})) {
      ctx.err << "chatglmd: user " << w[2] << " exists already\n";
      return kExitFailed;
    }
    print_record(ctx.out, account_record(*s.accounts().get(w[2])), ctx.inv.json);
    return kExitOk;
  }
  if (sub == "show" || sub == "freeze" || sub == "unfreeze" || sub == "token") {
    if (auto e = check_shape(ctx.inv, 3, 3, {}); !e.empty()) return usage_error(ctx, e);
    if (sub == "token") {
      std::string error;
      if (ctx.config.auth.token_secret_file.empty())
        return usage_error(ctx, "auth.token_secret_file is not set");
      auto secret = read_secret_file(ctx.config.auth.token_secret_file, error);
      if (!secret) return usage_error(ctx, error);
      auto ttl = std::chrono::duration_cast<std::chrono::seconds>(ctx.config.auth.token_ttl);
      ctx.out << llm::make_user_token(w[2], *secret, ctx.clock.now(), ttl) << "\n";
      // The token is valid for any openid; say so when it would meet "no chats left".
      if (!s.accounts().get(w[2]))
        ctx.err << "chatglmd: note: no account for " << w[2]
                << " (the token works; the user has no quota until one is added or bought)\n";
      return kExitOk;
    }
    if (sub != "show" &&
        !s.accounts().set_status(
            w[2], sub == "freeze" ? store::AccountStatus::Frozen : store::AccountStatus::Ok)) {
      ctx.err << "chatglmd: no user " << w[2] << "\n";
      return kExitFailed;
    }
    auto a = s.accounts().get(w[2]);
    if (!a) {
      ctx.err << "chatglmd: no user " << w[2] << "\n";
      return kExitFailed;
    }
    if (sub != "show") {
      print_record(ctx.out, account_record(*a), ctx.inv.json);
      return kExitOk;
    }
    // The account and its chats per day over the last 30 days, from the usage log.
    store::UsageQuery q;
    q.since = usage_window_start(ctx.clock.now(), kDefaultUsageDays);
    q.openid = a->openid;
    auto usage = usage_records(s.chat_log().usage(q), "day");
    auto record = account_record(*a);
    if (ctx.inv.json) {
      boost::json::array days;
      for (const auto& row : usage) {
        boost::json::object o;
        for (const auto& f : row) o[f.key] = f.value;
        days.push_back(std::move(o));
      }
      record.push_back({"usage", std::move(days)});
      print_record(ctx.out, record, true);
      return kExitOk;
    }
    print_record(ctx.out, record, false);
    ctx.out << "\nchats in the last " << kDefaultUsageDays << " days (Beijing days):\n";
    if (usage.empty())
      ctx.out << "none\n";
    else
      print_table(ctx.out, usage, false);
    return kExitOk;
  }
  if (sub == "grant") {
    if (auto e = check_shape(ctx.inv, 4, 4, {"models"}); !e.empty()) return usage_error(ctx, e);
    auto n = parse_integer(w[3]);
    if (!n || *n <= 0) return usage_error(ctx, "the quota to grant must be a whole number > 0");
    s.accounts().grant(w[2], *n, ctx.inv.flags.count("models") ? ctx.inv.flags.at("models") : "");
    print_record(ctx.out, account_record(*s.accounts().get(w[2])), ctx.inv.json);
    return kExitOk;
  }
  return usage_error(ctx, "user takes add, show, grant, freeze, unfreeze or token");
}

int product_command(CommandContext& ctx, store::Store& s) {
  const auto& w = ctx.inv.words;
  const std::string sub = w.size() > 1 ? w[1] : "";
  if (sub == "list") {
    if (auto e = check_shape(ctx.inv, 2, 2, {}); !e.empty()) return usage_error(ctx, e);
    std::vector<Record> rows;
    for (const auto& p : s.products().list(false)) rows.push_back(product_record(p));
    print_table(ctx.out, rows, ctx.inv.json);
    return kExitOk;
  }
  if (sub == "add") {
    if (auto e =
            check_shape(ctx.inv, 2, 2, {"id", "name", "price", "quota", "models", "desc", "sort"});
        !e.empty())
      return usage_error(ctx, e);
    for (const char* need : {"id", "name", "price", "quota"}) {
      if (!ctx.inv.flags.count(need))
        return usage_error(ctx, fmt::format("product add needs --{}", need));
    }
    store::Product p;
    auto id = parse_integer(ctx.inv.flags.at("id"));
    auto price = core::parse_yuan(ctx.inv.flags.at("price"));
    auto quota = parse_integer(ctx.inv.flags.at("quota"));
    if (!id || *id <= 0) return usage_error(ctx, "--id must be a whole number > 0");
    if (!price || price->value <= 0 || *price > core::kMaxTradeAmount)
      return usage_error(
          ctx, "--price must be yuan with at most two decimals, 0.01 to 100000000, e.g. 9.99");
    if (!quota || *quota <= 0) return usage_error(ctx, "--quota must be a whole number > 0");
    p.product_id = *id;
    p.name = ctx.inv.flags.at("name");
    p.price = *price;
    p.quota = *quota;
    if (ctx.inv.flags.count("models")) p.model_types = ctx.inv.flags.at("models");
    if (ctx.inv.flags.count("desc")) p.desc = ctx.inv.flags.at("desc");
    if (ctx.inv.flags.count("sort")) {
      auto sort = parse_integer(ctx.inv.flags.at("sort"));
      if (!sort) return usage_error(ctx, "--sort must be a whole number");
      p.sort = static_cast<int>(*sort);
    }
    if (!s.products().add(p)) {
      ctx.err << "chatglmd: product " << p.product_id << " exists already\n";
      return kExitFailed;
    }
    print_record(ctx.out, product_record(*s.products().get(p.product_id)), ctx.inv.json);
    return kExitOk;
  }
  if (sub == "enable" || sub == "disable") {
    if (auto e = check_shape(ctx.inv, 3, 3, {}); !e.empty()) return usage_error(ctx, e);
    auto id = parse_integer(w[2]);
    if (!id) return usage_error(ctx, "a product id is a whole number");
    if (!s.products().set_enabled(*id, sub == "enable")) {
      ctx.err << "chatglmd: no product " << w[2] << "\n";
      return kExitFailed;
    }
    print_record(ctx.out, product_record(*s.products().get(*id)), ctx.inv.json);
    return kExitOk;
  }
  return usage_error(ctx, "product takes list, add, enable or disable");
}

int words_command(CommandContext& ctx, store::Store& s) {
  const auto& w = ctx.inv.words;
  const std::string sub = w.size() > 1 ? w[1] : "";
  if (sub == "list") {
    if (auto e = check_shape(ctx.inv, 2, 2, {}); !e.empty()) return usage_error(ctx, e);
    std::vector<Record> rows;
    for (const auto& word : s.words().list()) rows.push_back({{"word", word.c_str()}});
    print_table(ctx.out, rows, ctx.inv.json);
    return kExitOk;
  }
  if (sub == "scan") return run_words_scan(ctx, s);
  std::vector<std::string> words;
  if (sub == "add") {
    if (auto e = check_shape(ctx.inv, 3, 100000, {}); !e.empty()) return usage_error(ctx, e);
    words.assign(w.begin() + 2, w.end());
  } else if (sub == "import") {
    if (auto e = check_shape(ctx.inv, 3, 3, {}); !e.empty()) return usage_error(ctx, e);
    auto loaded = filter::load_word_file(w[2]);
    if (!loaded) {
      ctx.err << "chatglmd: cannot read " << w[2] << ": " << loaded.error().message() << "\n";
      return kExitFailed;
    }
    words = std::move(*loaded);
  } else {
    return usage_error(ctx, "words takes add, import, list or scan");
  }
  int added = s.words().add(words, ctx.clock.now());
  print_record(ctx.out,
               {{"added", added}, {"total", static_cast<std::int64_t>(s.words().list().size())}},
               ctx.inv.json);
  return kExitOk;
}

int whitelist_command(CommandContext& ctx, store::Store& s) {
  const auto& w = ctx.inv.words;
  const std::string sub = w.size() > 1 ? w[1] : "";
  if (sub == "list") {
    if (auto e = check_shape(ctx.inv, 2, 2, {}); !e.empty()) return usage_error(ctx, e);
    std::vector<Record> rows;
    for (const auto& id : s.whitelist().list()) rows.push_back({{"openid", id.c_str()}});
    print_table(ctx.out, rows, ctx.inv.json);
    return kExitOk;
  }
  if (sub == "add" || sub == "remove") {
    if (auto e = check_shape(ctx.inv, 3, 3, {}); !e.empty()) return usage_error(ctx, e);
    bool changed =
        sub == "add" ? s.whitelist().add(w[2], ctx.clock.now()) : s.whitelist().remove(w[2]);
    if (!changed && sub == "remove") {
      ctx.err << "chatglmd: " << w[2] << " is not on the whitelist\n";
      return kExitFailed;
    }
    print_record(ctx.out, {{"openid", w[2].c_str()}, {"whitelisted", sub == "add"}}, ctx.inv.json);
    return kExitOk;
  }
  return usage_error(ctx, "whitelist takes add, remove or list");
}

}  // namespace

int run_admin_command(CommandContext& ctx) {
  store::Store* s = ctx.open_store();
  if (!s) return kExitUsage;
  const std::string& cmd = ctx.inv.words[0];
  if (cmd == "user") return user_command(ctx, *s);
  if (cmd == "product") return product_command(ctx, *s);
  if (cmd == "words") return words_command(ctx, *s);
  if (cmd == "whitelist") return whitelist_command(ctx, *s);
  return usage_error(ctx, fmt::format("unknown command '{}'", cmd));
}

}  // namespace chatglmd::app
