#include "job_world.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "app/gateway_runtime.hpp"
#include "core/state_machine.hpp"
#include "pay/alipay_gateway.hpp"
#include "store/sqlite_store.hpp"
#include "support/daemon_harness.hpp"

namespace chatglmd::testing {

std::vector<std::string> alipay_sim_args() {
  return {"--alipay-key",     fixture("ali_pkcs1.pem"),
          "--app-public-key", fixture("app_pub.pem"),
          "--seller-id",      kSellerId};
}

boost::json::value sim_control(int sim_port, const std::string& path, const std::string& json) {
  auto r = http_request(sim_port, "POST", path, json, {{"Content-Type", "application/json"}});
  if (r.status != 200)
    throw std::runtime_error(fmt::format("sim {} said {}: {}", path, r.status, r.body));
  return boost::json::parse(r.body);
}

std::optional<boost::json::object> sim_trade(int sim_port, const std::string& order_id) {
  auto r = http_request(sim_port, "GET", "/sim/alipay/trade?out_trade_no=" + order_id);
  if (r.status == 404) return std::nullopt;
  if (r.status != 200) throw std::runtime_error("sim trade lookup failed: " + r.raw);
  return boost::json::parse(r.body).at("trade").as_object();
}

std::string sim_trades_snapshot(int sim_port) {
  auto r = http_request(sim_port, "GET", "/sim/alipay/trades");
  if (r.status != 200) throw std::runtime_error("sim trades failed: " + r.raw);
  return r.body;
}

std::unique_ptr<store::Store> open_store(const std::string& path) {
  auto opened = store::open_sqlite_store({path, "NORMAL", 10000, true});
  if (!opened.store) throw std::runtime_error("store: " + opened.error);
  return std::move(opened.store);
}

void insert_order(store::Store& store, const std::string& order_id, core::UtcMs placed,
                  const std::string& openid) {
  core::Order o;
  o.order_id = order_id;
  o.openid = openid;
  o.product_id = 1002;
  o.product_name = "100 chats";
  o.quota = kQuota;
  o.model_types = "glm-4";
  o.amount = core::Fen{kPriceFen};
  o.order_time = placed;
  if (!store.orders().insert(o, placed)) throw std::runtime_error("insert failed: " + order_id);
}

void mark_paid_undelivered(store::Store& store, const std::string& order_id, core::UtcMs paid_at) {
  auto r = store.orders().apply(order_id, core::OrderEvent::PaymentConfirmed, core::Cause::Notify,
                                "test", paid_at, store::PaymentFacts{"2024" + order_id, paid_at});
  if (r.outcome != store::TransitionOutcome::Applied)
    throw std::runtime_error("could not mark paid: " + order_id);
}

void put_trade(int sim_port, const std::string& order_id, const std::string& status,
               core::Fen amount, const std::string& notify_url) {
  boost::json::object body{{"out_trade_no", order_id},
                           {"total_amount", core::format_yuan(amount)},
                           {"status", status},
                           {"app_id", kAppId}};
  if (!notify_url.empty()) body["notify_url"] = notify_url;
  sim_control(sim_port, "/sim/alipay/trade", boost::json::serialize(body));
}

JobWorld::JobWorld(core::Millis alipay_timeout) {
  sim_ = std::make_unique<SimProcess>(alipay_sim_args());
  store_ = open_store(db_path());

  app::AlipaySection section;
  section.gateway = sim_->url("/gateway.do");
  section.app_id = kAppId;
  section.private_key_file = fixture("app_pkcs1.pem");
  section.alipay_public_key_file = fixture("ali_pub.pem");
  section.seller_id = kSellerId;
  section.notify_url = "http://127.0.0.1:9/notify";  // the jobs never depend on notifies
  section.timeout = alipay_timeout;
  std::string error;
  runtime_ = app::GatewayRuntime::create(section, std::chrono::minutes(30), clock, error);
  if (!runtime_) throw std::runtime_error("gateway: " + error);
}

JobWorld::~JobWorld() = default;

pay::PaymentGateway& JobWorld::gateway() {
  return runtime_->gateway();
}

std::string JobWorld::add_order(std::optional<core::UtcMs> placed, std::string openid) {
  const int n = next_order_++;
  auto id = fmt::format("5{:011d}", n);
  insert_order(*store_, id, placed.value_or(clock.now()),
               openid.empty() ? fmt::format("buyer-{}", n) : openid);
  return id;
}

std::string JobWorld::add_paid_undelivered(core::UtcMs paid_at, std::string openid) {
  auto id = add_order(paid_at - core::Millis{std::chrono::minutes(1)}, std::move(openid));
  mark_paid_undelivered(*store_, id, paid_at);
  return id;
}

void JobWorld::trade(const std::string& order_id, const std::string& status, core::Fen amount) {
  put_trade(sim_->port(), order_id, status, amount);
}

void JobWorld::fault(const std::string& kind, const std::string& method, int count) {
  boost::json::object body{{"kind", kind}, {"method", method}, {"count", count}};
  sim_control(sim_->port(), "/sim/alipay/fault", boost::json::serialize(body));
}

void JobWorld::clear_faults() {
  sim_control(sim_->port(), "/sim/alipay/faults/clear", "{}");
}

core::Order JobWorld::order(const std::string& order_id) {
  auto o = store_->orders().get(order_id);
  if (!o) throw std::runtime_error("no order " + order_id);
  return *o;
}

std::int64_t JobWorld::quota_of(const std::string& openid) {
  auto a = store_->accounts().get(openid);
  return a ? a->total_quota : 0;
}

jobs::TickReport JobWorld::tick(jobs::Job& job, bool dry_run, int limit,
                                std::optional<jobs::JobSettings> settings) {
  jobs::JobContext ctx{clock, *store_, gateway(), settings.value_or(job.defaults())};
  ctx.close_after = std::chrono::minutes(30);
  ctx.dry_run = dry_run;
  return jobs::run_tick(job, ctx, {"test:1:" + std::string(job.name()), limit});
}

::testing::AssertionResult legal_event_chain(const std::vector<store::OrderEventRow>& events,
                                             core::OrderState final_state) {
  using core::OrderEvent;
  if (events.empty()) return ::testing::AssertionFailure() << "no audit rows";
  if (events.front().from || events.front().to != core::OrderState::Created)
    return ::testing::AssertionFailure() << "first audit row is not the insert";
  for (std::size_t i = 1; i < events.size(); ++i) {
    const auto& e = events[i];
    if (!e.from || *e.from != events[i - 1].to)
      return ::testing::AssertionFailure()
             << "row " << i << " does not start where the previous ended";
    // A refund's request and its failure are audited without a move, on a PAID or DELIVERED
    // order (the only ones with money to give back).
    bool allowed =
        *e.from == e.to && (e.to == core::OrderState::Paid || e.to == core::OrderState::Delivered);
    for (auto ev : {OrderEvent::PaymentConfirmed, OrderEvent::QuotaGranted,
                    OrderEvent::CloseConfirmed, OrderEvent::RefundConfirmed}) {
      auto t = core::next_transition(*e.from, ev);
      allowed = allowed || (t && t->to == e.to);
    }
    if (!allowed)
      return ::testing::AssertionFailure() << "illegal " << core::name_of(*e.from) << " -> "
                                           << core::name_of(e.to) << " (" << e.cause << ")";
  }
  if (events.back().to != final_state)
    return ::testing::AssertionFailure() << "audit ends in " << core::name_of(events.back().to)
                                         << ", order is " << core::name_of(final_state);
  return ::testing::AssertionSuccess();
}

}  // namespace chatglmd::testing
