#pragma once
// What a simulator handler may answer: a whole response (sim_http.hpp) or a paced stream whose
// pieces go out as separate TCP writes, so a client sees them split exactly there.
#include <chrono>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "sim_http.hpp"

namespace chatglmd::sim {

enum class StreamOutcome { Completed, PeerClosed, ServerClosed };

struct SimStream {
  int status = 200;
  std::string content_type = "text/event-stream;charset=UTF-8";
  std::vector<std::string> pieces;    // each one HTTP chunk and one write, cut anywhere
  std::chrono::milliseconds pace{0};  // before each piece
  // When set, this text in a piece is replaced, as it is written, by the send time (steady
  // clock, microseconds, 16 digits): the relay benchmarks measure per-token latency with it.
  std::string stamp_marker;
  enum class End {
    Finish,      // last chunk, connection stays usable
    Stall,       // keep the connection open, send nothing more, until the client goes away
    Disconnect,  // close the socket without the last chunk
  } end = End::Finish;
  // Told how the stream ended (for the sim's observation endpoints).
  std::function<void(StreamOutcome)> on_end;
};

using SimReply = std::variant<SimResponse, SimStream>;

}  // namespace chatglmd::sim
