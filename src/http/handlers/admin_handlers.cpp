// The admin dashboard: the page at /admin/ (embedded like the chat page) and its JSON at
// /admin/api/... behind the bearer token of auth.admin_token_file. Without a token the whole
// area answers 404, as if it did not exist.
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <charconv>
#include <map>
#include <mutex>
#include <optional>

#include "core/money.hpp"
#include "core/usage.hpp"
#include "http/client_address.hpp"
#include "http/handlers/app_services.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/static_files.hpp"
#include "jobs/registry.hpp"
#include "pay/no_payment_gateway.hpp"
#include "store/store.hpp"

namespace chatglmd::http {
namespace {

namespace json = boost::json;

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

Digest sha256(std::string_view text) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

// Compared as SHA-256 digests with CRYPTO_memcmp: the time taken says nothing about how much of
// the token, or how long a token, a prober got right.
bool same_token(std::string_view given, const Digest& expected) {
  const Digest g = sha256(given);
  return CRYPTO_memcmp(g.data(), expected.data(), g.size()) == 0;
}

Response api_error(int status, std::string_view message) {
  return Response::json(status, json::object{{"error", message}});
}

json::value time_or_null(std::optional<core::UtcMs> t) {
  if (!t) return nullptr;
  return t->ms;
}

json::array usage_rows(const std::vector<store::UsageRow>& rows, std::string_view key_name) {
  json::array out;
  for (const auto& r : rows) {
    json::object o{{key_name, r.key},
                   {"chats", r.chats},
                   {"answered", r.answered},
                   {"promptTokens", r.prompt_tokens},
                   {"completionTokens", r.completion_tokens}};
    if (!r.model.empty()) o["model"] = r.model;
    out.push_back(std::move(o));
  }
  return out;
}

// What one dashboard request covers: the last `days` Beijing days, today included.
struct Window {
  int days = 7;
  core::UtcMs now;
  core::UtcMs since;
  std::vector<std::string> day_keys;
};

Window window_of(const Request& req, core::UtcMs now, std::string& error) {
  Window w;
  w.now = now;
  if (auto text = req.query.get("days")) {
    int n = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || p != text->data() + text->size() || n < 1 || n > kMaxAdminDays) {
      error = "days must be a whole number from 1 to " + std::to_string(kMaxAdminDays);
      return w;
    }
    w.days = n;
  }
  const auto today = core::beijing_day_number(now);
  w.since = core::UtcMs{(today - w.days + 1) * core::kDayMs - core::kBeijingOffsetMs};
  for (auto d = today - w.days + 1; d <= today; ++d) w.day_keys.push_back(core::day_key(d));
  return w;
}

// The due work of one job, as its tick would select it now.
struct JobBacklog {
  std::int64_t count = 0;
  double oldest_due_seconds = 0;  // age of the oldest due item (as the job's gauge); 0: none
};
using JobBacklogs = std::map<std::string, JobBacklog>;

// What a report is built from.
struct ReportInput {
  store::Store& s;
  const Window& w;
  const JobBacklogs& backlogs;
};

json::value revenue(const ReportInput& in) {
  auto& s = in.s;
  const auto& w = in.w;
  std::map<std::string, store::DayAmount> by_day;
  for (auto& d : s.reports().paid_by_day(w.since)) by_day[d.day] = d;
  json::array days;
  std::int64_t total = 0;
  std::int64_t orders = 0;
  for (const auto& key : w.day_keys) {
    auto it = by_day.find(key);
    const std::int64_t fen = it == by_day.end() ? 0 : it->second.amount.value;
    const std::int64_t n = it == by_day.end() ? 0 : it->second.orders;
    total += fen;
    orders += n;
    days.push_back(json::object{
        {"day", key}, {"orders", n}, {"fen", fen}, {"yuan", core::format_yuan(core::Fen{fen})}});
  }
  return json::object{{"days", std::move(days)},
                      {"orders", orders},
                      {"totalFen", total},
                      {"totalYuan", core::format_yuan(core::Fen{total})}};
}

json::value funnel(const ReportInput& in) {
  auto& s = in.s;
  const auto& w = in.w;
  auto f = s.reports().funnel(w.since);
  return json::object{{"created", f.created},
                      {"paid", f.paid},
                      {"delivered", f.delivered},
                      {"closed", f.closed},
                      {"latePayments", f.late_payments},
                      {"refundsRequested", f.refunds_requested},
                      {"refunded", f.refunded}};
}

json::value chats(const ReportInput& in) {
  auto& s = in.s;
  const auto& w = in.w;
  store::UsageQuery q;
  q.since = w.since;
  q.by = store::UsageGrouping::DayModel;
  q.limit = 100'000;
  auto rows = s.chat_log().usage(q);
  std::int64_t total = 0;
  std::int64_t answered = 0;
  for (const auto& r : rows) {
    total += r.chats;
    answered += r.answered;
  }
  json::array days;
  for (const auto& k : w.day_keys) days.push_back(json::string(k));
  return json::object{{"days", std::move(days)},
                      {"rows", usage_rows(rows, "day")},
                      {"total", total},
                      {"answered", answered}};
}

json::value first_token(const ReportInput& in) {
  auto& s = in.s;
  const auto& w = in.w;
  auto values = s.chat_log().first_token_times(w.since, kMaxTtftSamples);
  json::object o{{"samples", static_cast<std::int64_t>(values.size())}};
  for (auto [name, p] : {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}}) {
    auto v = core::percentile(values, p);
    o[name] = v ? json::value(*v) : json::value(nullptr);
  }
  return o;
}

json::value top_users(const ReportInput& in) {
  auto& s = in.s;
  const auto& w = in.w;
  store::UsageQuery q;
  q.since = w.since;
  q.by = store::UsageGrouping::User;
  q.limit = kTopUsers;
  return usage_rows(s.chat_log().usage(q), "openid");
}

json::value job_health(const ReportInput& in) {
  auto& s = in.s;
  const auto& w = in.w;
  json::array out;
  for (const auto& job : jobs::make_jobs()) {
    const std::string name(job->name());
    const auto it = in.backlogs.find(name);
    const JobBacklog due = it == in.backlogs.end() ? JobBacklog{} : it->second;
    json::object o{
        {"name", name}, {"backlog", due.count}, {"oldestDueSeconds", due.oldest_due_seconds}};
    if (auto run = s.jobs().last_run(name)) {
      o["lastRun"] =
          json::object{{"startedAt", run->started_at.ms}, {"finishedAt", run->finished_at.ms},
                       {"outcome", run->outcome},         {"selected", run->selected},
                       {"succeeded", run->succeeded},     {"failed", run->failed}};
      o["ageSeconds"] = static_cast<double>((w.now - run->finished_at).count()) / 1000.0;
    } else {
      o["lastRun"] = nullptr;
    }
    out.push_back(std::move(o));
  }
  return out;
}

json::value notify_rejections(const ReportInput& in) {
  auto& s = in.s;
  json::array out;
  for (const auto& n : s.reports().rejected_notifies(kRecentRejections))
    out.push_back(json::object{{"notifyId", n.notify_id},
                               {"outTradeNo", n.out_trade_no},
                               {"tradeStatus", n.trade_status},
                               {"verdict", n.verdict},
                               {"receivedAt", time_or_null(n.received_at)}});
  return out;
}

// The summary reads the whole window of the usage log and the orders: one per window length
// is kept kSummaryTtl, so a dashboard left open (or several) costs one report per 30 s.
constexpr core::Millis kSummaryTtl{30'000};

// Each job's backlog, measured from the store with the jobs' own indexed due queries when the
// dashboard asks: the jobs may tick elsewhere (`jobs run` from cron, another node), so this
// process's last tick, if it ran one at all, is no measure. Kept kSummaryTtl, like the summary.
class BacklogCache {
 public:
  JobBacklogs get(store::Store& s, const HandlerSettings& settings, core::UtcMs now) {
    std::lock_guard lock(mutex_);  // one measurement at a time; the others take its result
    if (made_at_ && now - *made_at_ < kSummaryTtl && now >= *made_at_) return figures_;
    figures_ = measure(s, settings, now);
    made_at_ = now;
    return figures_;
  }

 private:
  static JobBacklogs measure(store::Store& s, const HandlerSettings& settings, core::UtcMs now) {
    const core::ManualClock at(now);
    pay::NoPaymentGateway no_gateway;  // a backlog is a store query; nothing asks the gateway
    JobBacklogs out;
    for (const auto& job : jobs::make_jobs()) {
      const std::string name(job->name());
      jobs::JobContext ctx{at, s, no_gateway, job->defaults()};
      if (auto it = settings.job_after.find(name); it != settings.job_after.end())
        ctx.settings.after = it->second;
      ctx.close_after = settings.close_after;
      ctx.chat_log_keep = settings.chat_log_keep;
      const auto b = job->backlog(ctx);
      out[name] = {static_cast<std::int64_t>(b.count),
                   b.oldest ? static_cast<double>((now - *b.oldest).count()) / 1000.0 : 0.0};
    }
    return out;
  }
  std::mutex mutex_;
  std::optional<core::UtcMs> made_at_;
  JobBacklogs figures_;
};

class SummaryCache {
 public:
  BacklogCache backlogs;  // the jobs section's figures, for the summary and on their own

  std::optional<json::object> get(int days, core::UtcMs now) {
    std::lock_guard lock(mutex_);
    auto it = by_days_.find(days);
    if (it == by_days_.end() || now - it->second.made_at >= kSummaryTtl || now < it->second.made_at)
      return std::nullopt;
    return it->second.summary;
  }
  void put(int days, core::UtcMs now, json::object summary) {
    std::lock_guard lock(mutex_);
    by_days_[days] = {now, std::move(summary)};
  }

 private:
  struct Entry {
    core::UtcMs made_at;
    json::object summary;
  };
  std::mutex mutex_;
  std::map<int, Entry> by_days_;  // at most kMaxAdminDays entries
};

using Section = json::value (*)(const ReportInput&);
struct NamedSection {
  std::string_view name;
  Section build;
};
constexpr NamedSection kSections[] = {
    {"revenue", revenue},
    {"funnel", funnel},
    {"chats", chats},
    {"ttft", first_token},
    {"top-users", top_users},
    {"jobs", job_health},
    {"notify-rejections", notify_rejections},
};

}  // namespace

void register_admin_routes(Router& router, const AppServices& s) {
  const bool enabled = !s.settings.admin_token.empty();
  if (!enabled) return;  // unknown paths answer 404 like any other
  auto expected = std::make_shared<Digest>(sha256(s.settings.admin_token));
  auto failures = std::make_shared<WindowCounter>(
      core::Millis{60'000}, s.settings.login_limiter_keys, limiter_full_counter(s, "admin_login"));

  // The page holds no data (the API does), so it is served without the token; the page asks
  // for the token and sends it with every API call.
  std::string web_dir = s.settings.web_dir;
  auto page = [web_dir](const Request& req) {
    std::vector<std::string> segments{"admin"};
    std::string file(req.param("file"));
    segments.push_back(file.empty() ? "index.html" : file);
    auto r = web_dir.empty() ? serve_embedded(segments, req.header("If-None-Match"))
                             : serve_static(web_dir, segments);
    if (r) return *r;
    return envelope_status(404, code::not_found, "no such file");
  };
  router.add_sync("GET", "/admin", [](const Request&) {
    Response r = Response::text(308, "");
    r.headers.emplace_back("Location", "/admin/");
    return r;
  });
  router.add_sync("GET", "/admin/", page);
  router.add_sync("GET", "/admin/{file}", page);

  auto cache = std::make_shared<SummaryCache>();
  constexpr const char* kApiRoute = "/admin/api/{section}";
  router.add_blocking("GET", kApiRoute, [s, expected, failures, cache](const Request& req) {
    const core::UtcMs now = now_of(s);
    // Like logins: every attempt takes a slot and a right token gives it back, so after
    // kAdminFailuresPerMinute wrong tokens an address waits out the minute, right token or not.
    const std::string address = limit_key(req.client);
    const auto took = failures->take_counted(address, now, kAdminFailuresPerMinute);
    if (!took) return api_error(429, "too many attempts, try again in a minute");
    if (!same_token(bearer_token(req), *expected)) {
      if (failures->count(address, now) == kAdminFailuresPerMinute)
        spdlog::warn("admin: {} sent {} wrong tokens within a minute; it waits", req.client,
                     kAdminFailuresPerMinute);
      return api_error(401, "wrong or missing admin token");
    }
    failures->give_back(address, *took);
    if (!s.store) return api_error(503, "no store");
    store::Store& reports = s.reports ? *s.reports : *s.store;
    std::string error;
    Window w = window_of(req, now, error);
    if (!error.empty()) return api_error(400, error);
    const auto section = req.param("section");
    try {
      if (section == "summary") {
        if (auto cached = cache->get(w.days, now)) return Response::json(200, *cached);
        json::object all{{"days", w.days},
                         {"since", w.day_keys.front()},
                         {"until", w.day_keys.back()},
                         {"generatedAt", now.ms}};
        const JobBacklogs backlogs = cache->backlogs.get(reports, s.settings, now);
        for (const auto& sec : kSections) all[sec.name] = sec.build({reports, w, backlogs});
        cache->put(w.days, now, all);
        return Response::json(200, all);
      }
      for (const auto& sec : kSections) {
        if (sec.name != section) continue;
        const JobBacklogs backlogs =
            section == "jobs" ? cache->backlogs.get(reports, s.settings, now) : JobBacklogs{};
        return Response::json(200, sec.build({reports, w, backlogs}));
      }
    } catch (const std::exception& e) {
      spdlog::error("admin: {}: {}", section, e.what());
      return api_error(500, "the store failed; see the log");
    }
    return api_error(404, "no such report");
  });
}

}  // namespace chatglmd::http
