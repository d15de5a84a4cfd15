// Alipay's asynchronous notification: verify, keep the raw notify (idempotent by notify_id),
// move the order and deliver, then answer exactly "success" or "fail".
#include <spdlog/spdlog.h>

#include "http/handlers/common.hpp"
#include "jobs/settlement.hpp"
#include "metrics/metrics.hpp"
#include "pay/alipay_notify.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"

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

// Everything after the signature check: runs inside one (group) transaction.
Response settle_verified(const AppServices& s, NotifyMetrics& m, const pay::ParsedNotify& parsed,
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
      // The merchant check compared the amount already; settle_payment compares it again
      // because it is the one path every confirmation takes.
      auto r = jobs::settle_payment(
          *s.store,
          jobs::PaymentConfirmation{f.out_trade_no, f.trade_no, *f.total_amount,
                                    f.gmt_payment.value_or(now)},
          core::Cause::Notify, now);
      if (r.outcome == jobs::SettleOutcome::UnknownOrder ||
          r.outcome == jobs::SettleOutcome::AmountMismatch)
        return reply(false);
      m.handled.inc();
      return reply(true);
    }
    case pay::NotifyVerdict::Closed:
      s.store->orders().apply(f.out_trade_no, core::OrderEvent::CloseConfirmed, core::Cause::Notify,
                              "notify " + f.notify_id, now);
      m.handled.inc();
      return reply(true);
    case pay::NotifyVerdict::NotPaidStatus:
      m.handled.inc();
      return reply(true);  // nothing to do, and nothing to re-send
    default:
      m.rejected.labels({std::string(pay::name_of(verdict))}).inc();
      spdlog::warn("notify {} for order {} refused: {} ({})", f.notify_id, f.out_trade_no,
                   pay::name_of(verdict),
                   saved == store::NotifySaveOutcome::Duplicate ? "seen before" : "kept");
      return reply(false);
  }
}

}  // namespace

void register_notify_routes(Router& router, const AppServices& s) {
  auto m = std::make_shared<NotifyMetrics>(s.registry ? *s.registry : metrics::default_registry());
  router.add("POST", "/api/v1/sale/pay_notify", [s, m](ExchangePtr ex) {
    const Request& req = ex->request();
    if (!s.store || !s.notify.parse || !s.notify.check) return ex->respond(reply(false));
    // RSA verification is CPU only: done here, on the io thread, before any store work.
    auto parsed = std::make_shared<pay::ParsedNotify>(s.notify.parse(req.body));
    if (!parsed->well_formed || !parsed->signature_ok) {
      // Unverified text is not stored: its notify_id could shadow a real one.
      m->rejected.labels({"bad_signature"}).inc();
      spdlog::warn("notify from {} refused: bad signature", req.peer);
      return ex->respond(reply(false));
    }
    auto answer = std::make_shared<Response>(reply(false));
    auto work = [s, m, parsed, answer, ex] {
      *answer = settle_verified(s, *m, *parsed, ex->request().body);
    };
    if (s.commits) {
      // Many notifies in flight share one commit; `success` goes out only after it.
      s.commits->submit(std::move(work), [ex, answer](bool committed) {
        ex->respond(committed ? *answer : reply(false));
      });
      return;
    }
    ex->run_blocking([s, ex, answer, work] {
      bool committed = false;
      try {
        s.store->in_transaction(work);
        committed = true;
      } catch (const std::exception& e) {
        spdlog::error("notify not stored: {}", e.what());
      }
      ex->respond(committed ? *answer : reply(false));
    });
  });
}

}  // namespace chatglmd::http
