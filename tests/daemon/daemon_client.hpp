#pragma once
// What the daemon tests share: a socket they control byte by byte (to disconnect mid-stream,
// hold a connection idle, or send what no HTTP library would), the simulator's control API,
// and the admin-command reads that check what a request changed.
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "support/daemon_harness.hpp"

namespace chatglmd::testing {

using std::chrono::milliseconds;

// A blocking TCP client to 127.0.0.1:port with deadlines on every read.
class RawClient {
 public:
  explicit RawClient(int port);  // throws std::runtime_error when it cannot connect
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // False once the peer no longer takes bytes (reset, closed).
  bool send(std::string_view bytes);
  // Reads until `done(received())` holds, the peer closes, or the limit passes; returns done's
  // last verdict.
  bool read_until(const std::function<bool(const std::string&)>& done, milliseconds limit);
  // Reads until the peer closes (true) or the limit passes (false).
  bool read_to_eof(milliseconds limit);
  bool peer_closed() const { return eof_; }
  const std::string& received() const { return received_; }
  void close();

 private:
  int fd_ = -1;
  bool eof_ = false;
  std::string received_;
};

// Status code of a raw answer ("HTTP/1.1 413 ..." -> 413), 0 when there is none.
int status_of(const std::string& raw);

// The simulator's JSON control API.
boost::json::value sim_call(SimProcess& sim, const std::string& method, const std::string& target,
                            const std::string& json_body = "");
boost::json::value glm_stats(SimProcess& sim);
void glm_fault(SimProcess& sim, const std::string& kind, int count = 1);

// {"model":..,"messages":[{"role":"user","content":..}]} plus extra members (e.g. "stream":true).
std::string chat_json(const std::string& model, const std::string& content,
                      std::string_view extra = "");

inline const std::string kOriginalChat = "/api/v1/chatgpt/chat/completions";
inline const std::string kOpenAiChat = "/v1/chat/completions";
// POSTs a chat body; `authorization` is the whole header value ("" sends none).
HttpReply chat(const DaemonHarness& d, const std::string& path, const std::string& authorization,
               const std::string& body);
// The envelope's code ("0003"), "" when the body is no envelope (a stream, say).
std::string envelope_code(const HttpReply& r);
// error.code of an OpenAI error body, "" when there is none.
std::string openai_error_code(const HttpReply& r);

// Admin reads through the CLI, the operator's view of the same store.
boost::json::value user_json(const DaemonHarness& d,
                             const std::string& openid);  // null when unknown
std::int64_t surplus_quota(const DaemonHarness& d, const std::string& openid);
void run_ok(const DaemonHarness& d, const std::vector<std::string>& args);

// The text an OpenAI SSE stream carried: every delta.content joined, plus whether [DONE] came.
struct OpenAiStream {
  std::string text;
  bool done = false;
  bool error = false;  // an {"error":...} event came
  std::string finish_reason;
};
OpenAiStream parse_openai_stream(const std::string& body);

// Number of UTF-8 code points; -1 when `text` is not valid UTF-8.
long utf8_length(std::string_view text);

// The daemon's store read directly (and written, for what the daemon's clock cannot reach, such
// as an expired login code). Rows come back as text; NULL as "".
std::vector<std::vector<std::string>> sql_rows(const std::string& db, const std::string& sql);
std::int64_t sql_int(const std::string& db, const std::string& sql);
void sql_exec(const std::string& db, const std::string& sql);

// A metric sample from /metrics (`name{labels}` as printed), 0 when absent.
double metric_value(const DaemonHarness& d, const std::string& series);

}  // namespace chatglmd::testing
