#pragma once
// One request in flight, as a handler holds it. A handler answers once, either with respond() or
// with start_stream() + write()... + finish(); every method may be called from any thread (the
// upstream client's callbacks, a worker), so the handler never touches the socket itself.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http/request.hpp"
#include "http/response.hpp"

namespace chatglmd::http {

class Exchange {
 public:
  virtual ~Exchange() = default;

  virtual const Request& request() const = 0;
  Request& mutable_request() { return const_cast<Request&>(request()); }

  // A whole response. Only the first respond() or start_stream() counts.
  virtual void respond(Response response) = 0;

  // A chunked streaming response (text/event-stream and the like). The connection closes after it.
  virtual void start_stream(int status, std::string content_type, Headers headers = {}) = 0;
  // Queues a piece (copied: the caller may reuse its buffer); pieces queued while a write is in
  // progress go out together in the next one. Returns false once the client is gone or the queue
  // passed its bound (the exchange is then cancelled): stop producing.
  virtual bool write(std::string_view piece) = 0;
  // Ends the stream normally (the terminating chunk, then close).
  virtual void finish() = 0;

  // Called once, on an io thread, when the client goes away (closed, reset, too slow) or the
  // server's drain bound passes before the answer ended. Called at once if that already happened.
  // Use it to abort the upstream request.
  virtual void on_cancel(std::function<void()> fn) = 0;
  virtual bool cancelled() const = 0;

  // Runs blocking work (store calls) on the worker pool, so io threads stay free; `work` then
  // answers through this exchange (keep the shared_ptr alive inside it).
  virtual void run_blocking(std::function<void()> work) = 0;
  // Runs fn on an io thread (to continue after blocking work on the event loop, e.g. to start an
  // upstream request with a client that wants to be used from its io_context).
  virtual void post(std::function<void()> fn) = 0;
};

using ExchangePtr = std::shared_ptr<Exchange>;
using Handler = std::function<void(ExchangePtr)>;

}  // namespace chatglmd::http
