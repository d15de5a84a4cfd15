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

// Everything after the signature check: runs inside one (group) transaction. `record` comes
// filled but for the verdict and the time, which are decided here.
NotifyOutcome settle_verified(const AppServices& s, const pay::ParsedNotify& parsed,
                              store::NotifyRecord& record) {
  const auto& f = parsed.fields;
  auto order = s.store->orders().get(f.out_trade_no);
  pay::NotifyVerdict verdict = s.notify.check(parsed, order ? &*order : nullptr);
  core::UtcMs now = now_of(s);
  record.verdict = pay::name_of(verdict);
  record.received_at = now;
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

// One verified notify on its way through the group commit.
struct NotifyUnit {
  std::shared_ptr<const AppServices> services;
  std::shared_ptr<NotifyMetrics> metrics;
  ExchangePtr ex;
  pay::ParsedNotify parsed;
  store::NotifyRecord record;
  NotifyOutcome outcome;  // set on the committer thread, read after the commit

  // A failed commit kept nothing: Alipay re-sends, and that attempt is the one counted (a
  // committed one is counted where its commit is heard of, see `finish`).
  void answer(bool committed) {
    if (!committed) {
      // Throttled with every other store error: an outage must not cost a line per resend.
      store::store_error_log().report(
          "notify " + parsed.fields.notify_id + " not stored (answered fail; Alipay re-sends)",
          "its commit failed");
    }
    ex->respond(reply(committed && outcome.ok));
  }
};

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
    pay::ParsedNotify parsed = s.notify.parse(req.body);
    if (!parsed.well_formed || !parsed.signature_ok) {
      // Unverified text is not stored: its notify_id could shadow a real one.
      m->rejected.labels({"bad_signature"}).inc();
      spdlog::warn("notify from {} refused: bad signature", req.client);
      return ex->respond(reply(false));
    }
    // Everything the unit needs, made here and released here: the committer thread only reads
    // and fills it. Freeing on the committer what an io thread allocated (the request, the
    // parsed fields, the reply) cost it a lock of the io thread's malloc arena per block.
    auto unit = std::make_shared<NotifyUnit>(NotifyUnit{shared, m, ex, std::move(parsed), {}, {}});
    const auto& f = unit->parsed.fields;
    // The pay_notify row's text, copied on this thread; the verdict and the time come later.
    unit->record.notify_id = f.notify_id;
    unit->record.out_trade_no = f.out_trade_no;
    unit->record.trade_status = f.trade_status;
    unit->record.raw_body = std::move(ex->mutable_request().body);  // parsed: not needed again
    auto work = [unit] {
      unit->outcome = settle_verified(*unit->services, unit->parsed, unit->record);
    };
    // The committer drops `work` before this runs, so this holds the unit's last reference on
    // that thread, and hands it back to the io thread with the reply: `success` (or `fail`) is
    // built and sent there, still only after the commit, and the unit is freed there. Counted
    // and logged here, with the commit: a reply that never goes out (io loops stopped by a
    // forced shutdown) must not hide a delivery that did commit.
    auto finish = [unit](bool committed) mutable {
      if (committed) unit->outcome.count(*unit->metrics);
      const ExchangePtr exchange = unit->ex;  // alive until post() has returned
      exchange->post([unit = std::move(unit), committed] { unit->answer(committed); });
    };
    // Many notifies in flight share one commit; `success` goes out only after it.
    write_durably(s, ex, std::move(work), std::move(finish));
  });
}

}  // namespace chatglmd::http
