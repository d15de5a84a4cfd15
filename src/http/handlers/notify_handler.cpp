// Alipay's asynchronous notification: verify, keep the raw notify (idempotent by notify_id),
// move the order and deliver, then answer exactly "success" or "fail".
#include <spdlog/spdlog.h>

#include <optional>

#include "http/handlers/common.hpp"
#include "http/handlers/durable_write.hpp"
#include "jobs/settlement.hpp"
#include "metrics/metrics.hpp"
#include "pay/alipay_notify.hpp"
#include "store/store.hpp"
#include "store/store_error_log.hpp"

namespace chatglmd::http {

namespace {

Response reply(bool ok) {
  return Response::text(200, ok ? "success" : "fail");
}

struct NotifyMetrics {
  explicit NotifyMetrics(metrics::Registry& r)
      : rejected(r.counter("chatglmd_notify_rejected_total",
                           "Payment notifies answered fail, by reason.", {"reason"})),
        handled(r.counter("chatglmd_notify_handled_total", "Payment notifies answered success.")
                    .get()) {
    for (auto reason :
         {"bad_signature", "wrong_app", "wrong_seller", "unknown_order", "wrong_amount"})
      rejected.labels({reason});
  }
  metrics::CounterFamily& rejected;
  metrics::Counter& handled;
};

// What a verified notify came to: the reply, and the reason it was refused ("" when handled).
// Metrics count it only once the transaction has committed.
struct NotifyOutcome {
  bool ok = false;
  std::string refused;
  std::optional<jobs::SettleResult> settled;  // a payment recorded: announced after the commit

  void count(NotifyMetrics& m) const {
    if (ok) {
      m.handled.inc();
    } else if (!refused.empty()) {
      m.rejected.labels({refused}).inc();
    }
    if (settled) jobs::announce_settlement(*settled);
  }
};

// Everything after the signature check: runs inside one (group) transaction.
NotifyOutcome settle_verified(const AppServices& s, const pay::ParsedNotify& parsed,
                              const std::string& raw_body) {
  const auto& f = parsed.fields;
  auto order = s.store->orders().get(f.out_trade_no);
  pay::NotifyVerdict verdict = s.notify.check(parsed, order ? &*order : nullptr);
  core::UtcMs now = now_of(s);
  store::NotifyRecord record{f.notify_id,    f.out_trade_no,
                             f.trade_status, std::string(pay::name_of(verdict)),
                             raw_body,       now};
  auto saved = s.store->notifies().save(record);

  switch (verdict) {
    case pay::NotifyVerdict::Ok: {
      // Also on a duplicate: a resend after a crash between save and delivery finishes the job.
      // The merchant check compared the amount already; record_payment compares it again
      // because it is the one path every confirmation takes.
      if (!order) return {false, "unknown_order", {}};
      auto r = jobs::record_payment(
          *s.store,
          jobs::PaymentConfirmation{f.out_trade_no, f.trade_no, *f.total_amount,
                                    f.gmt_payment.value_or(now)},
          *order, core::Cause::Notify, now, s.settings.late_payment);
      if (r.outcome == jobs::SettleOutcome::UnknownOrder) return {false, "unknown_order", {}};
      if (r.outcome == jobs::SettleOutcome::AmountMismatch) return {false, "wrong_amount", {}};
      return {true, "", r};
    }
    case pay::NotifyVerdict::Closed:
      s.store->orders().apply(f.out_trade_no, core::OrderEvent::CloseConfirmed, core::Cause::Notify,
                              "notify " + f.notify_id, now);
      return {true, "", {}};
    case pay::NotifyVerdict::NotPaidStatus:
      return {true, "", {}};  // nothing to do, and nothing to re-send
    default:
      spdlog::warn("notify {} for order {} refused: {} ({})", f.notify_id, f.out_trade_no,
                   pay::name_of(verdict),
                   saved == store::NotifySaveOutcome::Duplicate ? "seen before" : "kept");
      return {false, std::string(pay::name_of(verdict)), {}};
  }
}

}  // namespace

void register_notify_routes(Router& router, const AppServices& s) {
  auto m = std::make_shared<NotifyMetrics>(s.registry ? *s.registry : metrics::default_registry());
  // Shared, not copied into each notify's unit: a copy of the services (strings, functions, a
  // map) cost an allocation and a free per field per notify, the frees on the committer thread.
  auto shared = std::make_shared<const AppServices>(s);
  router.add("POST", "/api/v1/sale/pay_notify", [shared, m](ExchangePtr ex) {
    const AppServices& s = *shared;
    const Request& req = ex->request();
    if (!s.store || !s.notify.parse || !s.notify.check) return ex->respond(reply(false));
    // RSA verification is CPU only: done here, on the io thread, before any store work.
    auto parsed = std::make_shared<pay::ParsedNotify>(s.notify.parse(req.body));
    if (!parsed->well_formed || !parsed->signature_ok) {
      // Unverified text is not stored: its notify_id could shadow a real one.
      m->rejected.labels({"bad_signature"}).inc();
      spdlog::warn("notify from {} refused: bad signature", req.client);
      return ex->respond(reply(false));
    }
    auto outcome = std::make_shared<NotifyOutcome>();
    auto work = [shared, parsed, outcome, ex] {
      *outcome = settle_verified(*shared, *parsed, ex->request().body);
    };
    // A failed commit kept nothing: Alipay re-sends, and that attempt is the one counted.
    auto finish = [ex, m, outcome, parsed](bool committed) {
      if (committed) {
        outcome->count(*m);
      } else {
        // Throttled with every other store error: an outage must not cost a line per resend.
        store::store_error_log().report(
            "notify " + parsed->fields.notify_id + " not stored (answered fail; Alipay re-sends)",
            "its commit failed");
      }
      ex->respond(reply(committed && outcome->ok));
    };
    // Many notifies in flight share one commit; `success` goes out only after it.
    write_durably(s, ex, std::move(work), std::move(finish));
  });
}

}  // namespace chatglmd::http
