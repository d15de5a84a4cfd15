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
  std::function<void()> on_cancel;
  std::function<void()> wake;  // wakes the connection on its loop

  // Strand-only fields.
  bool watching = false;
};

}  // namespace chatglmd::http
