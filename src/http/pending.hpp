#pragma once
// The state one request shares between its Exchange (any thread) and its Connection (its loop).
#include <functional>
#include <mutex>
#include <string>

#include "http/response.hpp"

namespace chatglmd::http {

struct Pending {
  enum class Phase { waiting, whole, streaming, done };

  std::mutex mutex;
  Phase phase = Phase::waiting;
  Response response;        // phase whole
  int stream_status = 200;  // phase streaming
  std::string stream_content_type;
  Headers stream_headers;
  std::string queued;      // pieces not yet written, coalesced
  bool finished = false;   // finish() was called
  bool aborted = false;    // the handler dropped the stream without finish()
  bool overflow = false;   // queued passed the bound: the client reads too slowly
  bool cancelled = false;  // client gone or drain bound passed
  // While the connection's stream waits with nothing queued and no write in flight, its socket:
  // a piece written on the connection's own loop then goes straight out (one send, no wake-up and
  // no trip through the loop). -1 otherwise. Set and cleared on that loop only.
  int direct_fd = -1;
  bool direct_chunked = true;
  std::string unsent;          // framed bytes a direct send left over (socket full): written first
  bool direct_failed = false;  // a direct send failed: the client is gone
  std::function<void()> on_cancel;
  std::function<void()> wake;  // wakes the connection on its loop

  // Strand-only fields.
  bool watching = false;
};

}  // namespace chatglmd::http
