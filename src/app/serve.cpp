// `chatglmd serve`: the front, the scheduler and delivery in one process, systemd-aware.
// SIGTERM drains and exits (a second one, or the drain bound, forces the exit); SIGHUP reloads
// the configuration, the sensitive words and the whitelist through the same code as a start.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <future>
#include <thread>

#include "app/context.hpp"
#include "app/durations.hpp"
#include "app/filter_reloader.hpp"
#include "app/gateway_runtime.hpp"
#include "app/info_metrics.hpp"
#include "app/path_checks.hpp"
#include "app/store_probe.hpp"
#include "app/watchdog.hpp"
#include "filter/filter_holder.hpp"
#include "filter/word_filter.hpp"
#include "http/handlers/account_cache.hpp"
#include "http/handlers/app_services.hpp"
#include "http/handlers/product_catalogue.hpp"
#include "http/io_runtime.hpp"
#include "http/server.hpp"
#include "jobs/job_metrics.hpp"
#include "jobs/registry.hpp"
#include "jobs/scheduler.hpp"
#include "llm/chatglm_client.hpp"
#include "metrics/metrics.hpp"
#include "net/http_client.hpp"
#include "pay/alipay_gateway.hpp"
#include "pay/no_payment_gateway.hpp"
#include "store/group_commit.hpp"
#include "store/open_store.hpp"
#include "store/sqlite_store.hpp"

namespace chatglmd::app {
namespace {

// Past the stop budget, what is left is cancelled and joined; this much more is allowed for that
// before the process leaves without cleaning up (a thread stuck where cancelling cannot reach).
inline constexpr std::chrono::seconds kCancelGrace{5};

// Every open chat stream holds two sockets (client and upstream), so the usual soft limit of
// 1024 open files would cap the daemon near 500 streams. The hard limit is ours to take: systemd
// sets it with LimitNOFILE, and this covers a daemon started by hand or by another supervisor.
void raise_open_files_limit() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) {
    spdlog::warn("open files limit unknown: {}", std::strerror(errno));
    return;
  }
  if (files.rlim_cur < files.rlim_max) {
    rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
      files = raised;
    else
      spdlog::warn("could not raise the open files limit to {}: {}", files.rlim_max,
                   std::strerror(errno));
  }
  auto shown = [](rlim_t n) {
    return n == RLIM_INFINITY ? std::string("unlimited") : std::to_string(n);
  };
  spdlog::debug("open files limit: {} (hard {})", shown(files.rlim_cur), shown(files.rlim_max));
}

void notify_systemd(const std::string& state) {
  sd_notify(0, state.c_str());
}

}  // namespace

int run_serve(CommandContext& ctx) {
  if (auto e = check_shape(ctx.inv, 1, 1, {}); !e.empty()) return usage_error(ctx, e);
  if (auto bad = web_dir_problem(ctx.config)) return usage_error(ctx, *bad);
  raise_open_files_limit();
  // A write past a file-size limit must fail that write (and be reported), not kill the daemon.
  std::signal(SIGXFSZ, SIG_IGN);
  store::Store* store = ctx.open_store(CommandContext::StoreAccess::create_or_upgrade);
  if (!store) return kExitUsage;
  const Config& cfg = ctx.config;
  // A store opened read-only (a root-owned file) still opens and reads: without this check the
  // daemon would start, report ready and fail every write.
  StoreProbe store_probe(*store, ctx.clock, ctx.store_name(), cfg.store.url.empty());
  if (auto why = store_probe.check_now(); !why.empty()) {
    ctx.err << "chatglmd: " << why << "\n";
    return kExitFailed;
  }

  std::string error;
  if (cfg.auth.token_secret_file.empty())
    return usage_error(ctx, "auth.token_secret_file must be set for serve");
  auto token_secret = read_secret_file(cfg.auth.token_secret_file, error);
  if (!token_secret) return usage_error(ctx, error);
  auto wechat_token = wechat_server_token(cfg.auth, error);
  if (!wechat_token) return usage_error(ctx, error);

  http::IoRuntime runtime(cfg.http.threads);
  // Registered before the port opens: a signal that comes once /healthz answers (or while the
  // jobs start) waits for its handler instead of getting the default action, which for SIGHUP
  // is to die.
  boost::asio::signal_set signals(runtime.io(), SIGTERM, SIGINT, SIGHUP);
  const auto close_after = cfg.jobs.at("timeout-close").after;

  // Alipay is optional for a chat-only deployment; without it the sale endpoints say so and
  // the jobs do not run.
  std::unique_ptr<GatewayRuntime> gateway;
  if (!cfg.alipay.app_id.empty()) {
    gateway = GatewayRuntime::create(cfg.alipay, close_after, ctx.clock, error);
    if (!gateway) return usage_error(ctx, "alipay: " + error);
  } else {
    spdlog::warn("alipay.app_id is not set: selling and the order jobs are off");
  }

  // A chat's upstream call runs on the io thread of the request that started it; each of those
  // loops has one thread, so the calls need no strand.
  net::HttpClient::Options llm_options;
  llm_options.one_thread_per_loop = true;
  net::HttpClient llm_http([&runtime]() -> boost::asio::io_context& { return runtime.io_here(); },
                           llm_options);
  llm_http.load_trust_store();  // here, not in the loop of the first chat that calls out
  std::unique_ptr<llm::ChatGlmClient> chat;
  if (!cfg.chatglm.api_key_file.empty()) {
    auto key = read_secret_file(cfg.chatglm.api_key_file, error);
    if (!key) return usage_error(ctx, "chatglm: " + error);
    llm::ChatGlmConfig lc;
    lc.base_url = cfg.chatglm.base_url;
    lc.api_key = *key;
    lc.models = cfg.chatglm.models;
    lc.token_ttl = cfg.chatglm.token_ttl;
    lc.connect_timeout = cfg.chatglm.connect_timeout;
    lc.first_byte_timeout = cfg.chatglm.first_byte_timeout;
    lc.idle_timeout = cfg.chatglm.idle_timeout;
    if (auto bad = llm::ChatGlmClient::check(lc)) return usage_error(ctx, "chatglm: " + *bad);
    chat = std::make_unique<llm::ChatGlmClient>(llm_http, ctx.clock, lc);
  } else {
    spdlog::warn("chatglm.api_key_file is not set: chat is off");
  }

  filter::FilterHolder filter;
  // The catalogue checks its change stamp on each request, on a connection of its own that never
  // waits for a writer (busy timeout 0), so a commit or fsync on the main connection never holds
  // an io thread. Without it (it cannot open) the catalogue follows the poll only; so it does on
  // PostgreSQL, where a per-request read would be a network round trip on the io thread. It
  // reads a few stamp rows and, on a change, the catalogue and one account: SQLite's own 2 MiB
  // page cache holds them.
  std::unique_ptr<store::Store> stamp_reader;
  if (!store::is_postgres_url(cfg.store.url)) {
    stamp_reader =
        store::open_sqlite_store({cfg.store.path, cfg.store.synchronous, 0, false, 2 * 1024}).store;
    if (!stamp_reader) spdlog::warn("catalogue: no connection of its own; changes show within 1 s");
  }
  // The dashboard's reports read through a connection of their own (WAL: a reader never waits
  // for the writer), so a report over a big usage log does not hold the connection the group
  // commit writes through. Without it the reports share the main store, as on PostgreSQL.
  std::unique_ptr<store::Store> report_reader;
  if (!store::is_postgres_url(cfg.store.url) && !cfg.auth.admin_token_file.empty()) {
    report_reader =
        store::open_sqlite_store({cfg.store.path, cfg.store.synchronous, 5000, false}).store;
    if (!report_reader) spdlog::warn("admin: reports share the main store connection");
  }
  // Before the reloader, whose poll thread refreshes it until the reloader is gone.
  http::ProductCatalogue catalogue(stamp_reader ? stamp_reader->products() : store->products(),
                                   stamp_reader != nullptr);
  // Chat starts check the account stamp on the same connection of its own, and otherwise take
  // status and models from memory (PostgreSQL: read per request, as above).
  std::unique_ptr<http::AccountCache> account_cache;
  if (stamp_reader) account_cache = std::make_unique<http::AccountCache>(stamp_reader->accounts());
  FilterReloader reloader(*store, filter, cfg.auth.whitelist);
  reloader.follow([&catalogue](bool force) {
    if (force)
      catalogue.reload();
    else
      catalogue.reload_if_changed();
  });

  auto& registry = metrics::default_registry();
  register_info_metrics(registry, cfg);
  auto job_list = jobs::make_jobs();
  for (const auto& j : job_list) jobs::JobMetrics::global().preregister(j->name());

  // The one write path that batches: notifies, chat starts and refunds, and job outcomes
  // share its commits (and so its fsyncs).
  store::GroupCommitter commits(*store);
  http::AppServices services;
  services.store = store;
  services.reports = report_reader.get();
  services.catalogue = &catalogue;
  services.accounts = account_cache.get();
  services.commits = &commits;
  services.clock = &ctx.clock;
  services.registry = &registry;
  services.chat = chat.get();
  services.filter = &filter;
  if (gateway) {
    services.gateway = &gateway->gateway();
    auto* g = &gateway->gateway();
    services.notify.parse = [g](std::string_view body) { return g->parse_notify(body); };
    services.notify.check = [g](const pay::ParsedNotify& n, const core::Order* o) {
      return g->check_notify(n, o);
    };
  }
  services.not_ready = [&store_probe] { return store_probe.check(); };
  services.settings.token_secret = *token_secret;
  services.settings.token_ttl =
      std::chrono::duration_cast<std::chrono::seconds>(cfg.auth.token_ttl);
  services.settings.wechat_token = *wechat_token;
  if (!cfg.auth.admin_token_file.empty()) {
    auto admin_token = read_admin_token(cfg.auth.admin_token_file, error);
    if (!admin_token) return usage_error(ctx, error);
    services.settings.admin_token = *admin_token;
  }
  services.settings.web_dir = cfg.http.web_dir;
  services.settings.close_after = close_after;
  services.settings.late_payment = cfg.alipay.late_payment;
  services.settings.rate_limit = cfg.chat.rate_limit;
  services.settings.free_chats = cfg.chat.free_chats;
  services.settings.free_window = cfg.chat.free_window;
  for (const auto& [name, job_settings] : cfg.jobs)
    services.settings.job_after[name] = job_settings.after;
  services.settings.chat_log_keep = std::chrono::hours(24) * cfg.chat.log_days;

  http::Router router;
  http::register_routes(router, services);
  http::ServerConfig server_config;
  server_config.listen = cfg.http.listen;
  server_config.max_body = cfg.http.max_body;
  server_config.cors_origins = cfg.http.cors_origins;
  {
    std::string error;  // load_config checked the list already; this only turns it into networks
    auto proxies = http::TrustedProxies::parse(cfg.http.trusted_proxies, error);
    if (!proxies) {
      ctx.err << "chatglmd: http.trusted_proxies: " << error << "\n";
      return kExitUsage;
    }
    server_config.trusted_proxies = std::move(*proxies);
  }
  http::Server server(runtime, server_config, std::move(router), registry);
  if (auto why = server.start(); !why.empty()) {
    ctx.err << "chatglmd: " << why << "\n";
    return kExitFailed;
  }
  runtime.start();

  // Without Alipay only the jobs that never ask it run (chat-log-prune), against a gateway
  // that answers Unclear.
  pay::NoPaymentGateway no_gateway;
  pay::PaymentGateway& job_gateway =
      gateway ? static_cast<pay::PaymentGateway&>(gateway->gateway()) : no_gateway;
  std::unique_ptr<jobs::Scheduler> scheduler;
  std::vector<jobs::ScheduledJob> enabled;
  for (const auto& j : job_list) {
    const auto& s = cfg.jobs.at(std::string(j->name()));
    if (s.enabled && (gateway || !j->needs_payment_gateway())) enabled.push_back({j.get(), s});
  }
  if (!enabled.empty()) {
    scheduler = std::make_unique<jobs::Scheduler>(
        runtime.io(), store->jobs(), ctx.clock, enabled,
        [&](jobs::Job& job, const jobs::JobSettings& settings) {
          jobs::JobContext jc{ctx.clock, *store, job_gateway, settings};
          jc.close_after = close_after;
          jc.late_payment = cfg.alipay.late_payment;
          jc.chat_log_keep = std::chrono::hours(24) * cfg.chat.log_days;
          jc.stopping = &scheduler->stopping();
          jc.commits = &commits;
          return jobs::run_tick(job, jc, {ctx.lease_owner("serve"), 0});
        });
    scheduler->start();
  }

  std::promise<void> stop_requested;
  auto stopped = stop_requested.get_future();
  std::atomic<int> terms{0};
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          notify_systemd("RELOADING=1");
          ConfigSources sources = ctx.config_sources;  // same file and flags, fresh environment
          sources.environment = process_environment();
          auto fresh = load_config(sources, jobs::default_settings());
          if (!fresh.config) {
            spdlog::error("reload refused, keeping the running configuration: {}", fresh.error);
          } else {
            for (const auto& key : restart_only_changes(cfg, *fresh.config))
              spdlog::warn("{} changed: the change needs a restart (the old value stays in use)",
                           key);
            reloader.set_config_whitelist(fresh.config->auth.whitelist);
            spdlog::set_level(
                spdlog::level::from_str(ctx.inv.log_level.value_or(fresh.config->log_level)));
            spdlog::info(
                "configuration reloaded (listen address, keys and job schedules apply at restart)");
          }
          reloader.reload();
          notify_systemd("READY=1");
        } else if (++terms == 1) {
          spdlog::info("signal {}: draining", sig);
          stop_requested.set_value();
        } else {
          spdlog::warn("second signal {}: exiting now", sig);
          std::_Exit(1);
        }
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  Watchdog watchdog(runtime.io());
  spdlog::info("serving on http://{} (store {}, jobs {})",
               cfg.http.listen.find(":0") != std::string::npos
                   ? fmt::format("127.0.0.1:{}", server.port())
                   : cfg.http.listen,
               ctx.store_name(), scheduler ? "on" : "off");
  notify_systemd(fmt::format("READY=1\nSTATUS=serving on port {}", server.port()));

  stopped.wait();
  notify_systemd("STOPPING=1");
  const auto deadline = std::chrono::steady_clock::now() + cfg.http.drain;
  // Last resort if cancelling cannot reach a stuck thread: leave without running destructors, so
  // nothing is used after it is destroyed; systemd's TimeoutStopSec is above this.
  std::thread([deadline] {
    std::this_thread::sleep_until(deadline + kCancelGrace);
    spdlog::error("stop: still not done {}s past the stop budget; exiting without cleanup",
                  kCancelGrace.count());
    std::_Exit(1);
  }).detach();
  // One budget for everything: ticks take no new order and new requests are refused from now on,
  // while open answers and the orders in hand finish together.
  if (scheduler) scheduler->request_stop();
  server.begin_drain();
  const bool ticks_ended = !scheduler || scheduler->wait_idle(deadline);
  const bool answers_ended = server.wait_drained(deadline);
  if (!ticks_ended || !answers_ended) {
    const int ticks = scheduler ? scheduler->running() : 0;
    // Gateway calls end as "unclear" (the order is left unchanged and retried later); streams are
    // cancelled with their upstream requests.
    if (gateway) gateway->shut_down();
    const std::size_t cut = server.force_close();
    if (scheduler) scheduler->join();
    spdlog::warn("stop budget of {} passed: cut short {} open connections and {} running job ticks",
                 format_duration(cfg.http.drain), cut, ticks);
  } else if (scheduler) {
    scheduler->join();
  }
  // A request can outlive its connection: a chat charged in the group commit's last batch after
  // its client left (or the budget cut it) continues on an io loop, to start its answer or, with
  // nobody to read it, give the chat back. So the loops stop only once no handler holds a request,
  // and the committer (destroyed after them) is left with writes that need no continuation.
  // Short of the last-resort exit, so that this says what it leaves behind.
  if (!server.wait_released(deadline + kCancelGrace / 2))
    spdlog::error(
        "stop: {} requests still wait for the store; a chat charged after this is not given back",
        server.held_requests());
  watchdog.stop();
  signals.cancel();
  runtime.stop();
  spdlog::info("stopped");
  return kExitOk;
}

int run_check_config(CommandContext& ctx) {
  if (auto e = check_shape(ctx.inv, 1, 1, {}); !e.empty()) return usage_error(ctx, e);
  const Config& cfg = ctx.config;
  std::vector<std::string> problems;
  std::string error;
  if (cfg.auth.token_secret_file.empty()) {
    problems.push_back("auth.token_secret_file is not set (serve needs it)");
  } else if (!read_secret_file(cfg.auth.token_secret_file, error)) {
    problems.push_back(error);
  }
  if (!wechat_server_token(cfg.auth, error)) problems.push_back(error);
  if (!cfg.auth.admin_token_file.empty() && !read_admin_token(cfg.auth.admin_token_file, error))
    problems.push_back(error);
  if (!cfg.alipay.app_id.empty()) {
    if (!GatewayRuntime::create(cfg.alipay, cfg.jobs.at("timeout-close").after, ctx.clock, error))
      problems.push_back("alipay: " + error);
  }
  if (!cfg.chatglm.api_key_file.empty()) {
    auto key = read_secret_file(cfg.chatglm.api_key_file, error);
    if (!key) {
      problems.push_back("chatglm: " + error);
    } else {
      llm::ChatGlmConfig lc;
      lc.base_url = cfg.chatglm.base_url;
      lc.api_key = *key;
      lc.models = cfg.chatglm.models;
      if (auto bad = llm::ChatGlmClient::check(lc)) problems.push_back("chatglm: " + *bad);
    }
  }
  for (auto& p : check_paths(cfg, ctx.out)) problems.push_back(std::move(p));
  for (const auto& p : problems) ctx.err << "chatglmd: " << p << "\n";
  if (!problems.empty()) return kExitUsage;
  ctx.out << "configuration ok\n";
  return kExitOk;
}

}  // namespace chatglmd::app
