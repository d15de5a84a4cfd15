#pragma once
// What the jobs, the delivery path and the front need from a payment gateway, as values.
// "The gateway says the trade does not exist" is an outcome the caller must handle, not an
// exception; anything we cannot trust (timeout, 5xx, bad signature) is Unclear and must
// change nothing.
#include <functional>
#include <optional>
#include <string>

#include "core/money.hpp"
#include "core/order.hpp"
#include "core/time.hpp"

namespace chatglmd::pay {

struct TradeQueryResult {
  enum class Kind {
    Paid,      // TRADE_SUCCESS or TRADE_FINISHED, response signature verified
    Waiting,   // WAIT_BUYER_PAY
    Closed,    // TRADE_CLOSED
    NotExist,  // ACQ.TRADE_NOT_EXIST (a precreate trade nobody scanned, or a page pay never opened)
    Unclear,   // timeout, 5xx, bad or missing signature, ACQ.SYSTEM_ERROR, anything unexpected
  };
  Kind kind = Kind::Unclear;
  std::string trade_no;
  core::Fen amount;                    // total_amount, when Paid
  std::optional<core::UtcMs> paid_at;  // send_pay_date, when given
  std::string detail;                  // code/sub_code/message for logs and last_error
};

struct TradeCloseResult {
  enum class Kind {
    Closed,       // code 10000
    NotExist,     // ACQ.TRADE_NOT_EXIST: nothing to close there
    StatusError,  // ACQ.TRADE_STATUS_ERROR: not WAIT_BUYER_PAY (paid, or already closed); query it
    Unclear,
  };
  Kind kind = Kind::Unclear;
  std::string detail;
};

struct PayFormResult {
  bool ok = false;
  std::string data;    // auto-submit form HTML (page mode) or the QR URL (precreate mode)
  std::string detail;  // why not, when !ok
};

// A full refund of one trade. `out_request_no` is the same on every retry of the refund, which
// is what lets Alipay answer a resend without moving money twice.
struct RefundRequest {
  std::string out_trade_no;
  std::string out_request_no;
  core::Fen amount;
  std::string reason;
  // Alipay's trade_no of the payment (not sent): an answer naming another trade is not ours.
  std::string trade_no;
};

struct RefundResult {
  enum class Kind {
    Refunded,      // code 10000 and fund_change Y: the money moved now
    NoFundChange,  // code 10000 and fund_change N: a resend (or nothing moved); ask the query
    Refused,       // a definitive no (ACQ.TRADE_HAS_FINISHED, ACQ.REFUND_AMT_NOT_EQUAL_TOTAL, ...)
    Unclear,       // timeout, 5xx, bad signature, ACQ.SYSTEM_ERROR, anything unexpected
  };
  Kind kind = Kind::Unclear;
  core::Fen refund_fee;  // the trade's refunded total as Alipay reports it, when 10000
  std::string detail;
};

struct RefundQueryResult {
  enum class Kind {
    Succeeded,    // refund_status REFUND_SUCCESS
    NotRefunded,  // Alipay has no successful refund with this out_request_no (yet)
    Unclear,
  };
  Kind kind = Kind::Unclear;
  core::Fen refund_amount;  // when Succeeded
  std::string detail;
};

// A gateway call whose local work (the request built and signed) is done: calling it makes the
// call itself.
template <typename Result>
using PreparedCall = std::function<void(std::function<void(Result)>)>;

class PaymentGateway {
 public:
  virtual ~PaymentGateway() = default;
  // Completions may run on another thread (the network io thread).
  virtual void async_query(const std::string& order_id,
                           std::function<void(TradeQueryResult)> done) = 0;
  virtual void async_close(const std::string& order_id,
                           std::function<void(TradeCloseResult)> done) = 0;
  virtual void async_create_pay_form(const core::Order& order,
                                     std::function<void(PayFormResult)> done) = 0;
  // A gateway that cannot refund answers Unclear: nothing changes and the refund waits.
  virtual void async_refund(const RefundRequest& request, std::function<void(RefundResult)> done);
  // Asks about `request` (its out_trade_no and out_request_no; the rest checks the answer).
  virtual void async_refund_query(const RefundRequest& request,
                                  std::function<void(RefundQueryResult)> done);

  // The query and the close in two steps, so a bound on calls in flight (jobs::GatewaySlots)
  // can wait between them: the next calls are signed while the bound is full, and a slot is
  // held only for the call itself. By default nothing is done ahead.
  virtual PreparedCall<TradeQueryResult> prepare_query(const std::string& order_id);
  virtual PreparedCall<TradeCloseResult> prepare_close(const std::string& order_id);

  // Blocking forms for one-shot commands and worker threads (never on an io thread).
  TradeQueryResult query(const std::string& order_id);
  TradeCloseResult close(const std::string& order_id);
  PayFormResult create_pay_form(const core::Order& order);
  RefundResult refund(const RefundRequest& request);
  RefundQueryResult refund_query(const RefundRequest& request);
};

}  // namespace chatglmd::pay
