#pragma once
// The fake ChatGLM v4 upstream of chatglmd-sim.
//
//   POST /api/paas/v4/chat/completions   JWT checked (bare or "Bearer"; bad signature, wrong
//        api_key or exp in the past -> 401 {"error":{"code":"1000"}}); stream:true answers B3
//        chunks (one id, delta.content pieces, a last chunk with finish_reason stop + usage, then
//        data: [DONE]); stream:false answers one JSON completion.
//        Answer text: "Echo: <last user message>"; a last user message "len:N" asks for N
//        characters of mixed Chinese/ASCII text instead.
// Control (JSON):
//   POST /sim/glm/fault   {"kind": K, "count": N (default 1, 0 = until cleared)}; K is one of
//        http_401 | http_400 | http_429 | sensitive_1301 | balance_1113 | http_500 |
//        mid_stream_error | sensitive_finish | stall (some pieces, then silence) |
//        hang (no answer at all) | disconnect (some pieces, then the socket closes) | truncate
//   POST /sim/glm/faults/clear
//   POST /sim/glm/config  {"chunk_delay_ms", "split_bytes" (0 = one write per event, else writes
//        of that many bytes, cut inside UTF-8 characters), "piece_chars" (characters per delta),
//        "stamp" (true: each delta is "T<16 digits>|", the microseconds of the steady clock when
//        the piece was written, for the relay benchmarks)}
//   POST /sim/glm/reset   faults cleared, counters zeroed
//   GET  /sim/glm/stats   {"requests","chat_requests","auth_failures","streams_open",
//        "streams_completed","streams_cancelled","streams_server_closed","last_request_body",
//        "last_authorization"}
#include <chrono>
#include <memory>
#include <string>

#include "sim_reply.hpp"

namespace chatglmd::sim {

struct GlmSimOptions {
  std::string api_key;  // "<id>.<secret>" whose tokens are accepted
  std::chrono::milliseconds chunk_delay{0};
  std::size_t split_bytes = 0;
  std::size_t piece_chars = 4;
  // Each piece's text is "T<send time, steady clock, 16 digits of microseconds>|" instead.
  bool stamp = false;
};

class GlmSim {
 public:
  // Throws std::invalid_argument for an API key that is not "<id>.<secret>".
  explicit GlmSim(GlmSimOptions options);
  ~GlmSim();
  GlmSim(const GlmSim&) = delete;
  GlmSim& operator=(const GlmSim&) = delete;

  bool handles(const SimRequest& request) const;
  SimReply handle(const SimRequest& request);  // thread-safe

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the on_end hooks of streams still running
};

// The deterministic answer text for a last user message (exposed for tests).
std::string glm_sim_answer(const std::string& last_user_message);

}  // namespace chatglmd::sim
