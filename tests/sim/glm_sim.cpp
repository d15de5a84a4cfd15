#include "glm_sim.hpp"

#include <boost/json.hpp>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "llm/jwt.hpp"
#include "llm/zhipu_token.hpp"

namespace chatglmd::sim {

namespace json = boost::json;

namespace {

constexpr std::string_view kStampMarker = "@@STAMP@@";

constexpr std::string_view kChatPath = "/api/paas/v4/chat/completions";

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

// UTF-8 code points of `text`, each as its bytes.
std::vector<std::string_view> code_points(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    n = std::min(n, text.size() - i);
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

SimResponse json_response(int status, const json::value& body) {
  return SimResponse{status, "application/json", json::serialize(body)};
}

SimResponse glm_error(int status, std::string code, std::string message) {
  return json_response(status,
                       json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string glm_sim_answer(const std::string& message) {
  if (message.rfind("len:", 0) == 0) {
    const std::size_t length = std::strtoul(message.c_str() + 4, nullptr, 10);
    const auto alphabet = code_points("你好，世界！这是模拟的回答。ChatGLM sim 123 ");
    std::string out;
    for (std::size_t i = 0; i < std::min<std::size_t>(length, 1'000'000); ++i)
      out += alphabet[i % alphabet.size()];
    return out;
  }
  return "Echo: " + message;
}

struct GlmSim::Impl {
  struct Fault {
    std::string kind;
    int remaining = 1;  // 0 = until cleared
  };

  llm::ZhipuApiKey key;
  std::mutex mutex;
  GlmSimOptions options;
  std::vector<Fault> faults;
  std::int64_t requests = 0, chat_requests = 0, auth_failures = 0;
  std::int64_t streams_open = 0, streams_completed = 0, streams_cancelled = 0,
               streams_server_closed = 0;
  std::string last_request_body, last_authorization;
  std::int64_t next_id = 1;

  std::string take_fault() {
    if (faults.empty()) return {};
    auto& fault = faults.front();
    std::string kind = fault.kind;
    if (fault.remaining > 0 && --fault.remaining == 0) faults.erase(faults.begin());
    return kind;
  }

  // Empty when the token is good.
  std::string auth_problem(const std::string& header) {
    std::string token = header;
    if (token.size() > 7 && (token.rfind("Bearer ", 0) == 0 || token.rfind("bearer ", 0) == 0))
      token = token.substr(7);
    if (token.empty()) return "missing Authorization";
    auto check = llm::jwt_verify_hs256(token, key.secret);
    if (!check.ok()) return "token signature invalid";
    boost::system::error_code ec;
    auto claims = json::parse(check.payload_json, ec);
    if (ec || !claims.is_object()) return "token payload invalid";
    const auto* api_key = claims.as_object().if_contains("api_key");
    if (!api_key || !api_key->is_string() || api_key->as_string() != key.id)
      return "unknown api_key";
    const auto* exp = claims.as_object().if_contains("exp");
    if (!exp || !exp->is_int64()) return "exp missing";
    if (exp->as_int64() <= now_ms()) return "token expired";
    return {};
  }
};

GlmSim::GlmSim(GlmSimOptions options) : impl_(std::make_shared<Impl>()) {
  auto key = llm::ZhipuApiKey::parse(options.api_key);
  if (!key) throw std::invalid_argument("--glm-api-key must look like <id>.<secret>");
  impl_->key = *key;
  impl_->options = std::move(options);
}

GlmSim::~GlmSim() = default;

bool GlmSim::handles(const SimRequest& request) const {
  const auto path = path_of(request.target);
  return path == kChatPath || path.rfind("/sim/glm/", 0) == 0;
}

SimReply GlmSim::handle(const SimRequest& request) {
  auto& s = *impl_;
  const auto path = path_of(request.target);
  std::unique_lock lock(s.mutex);
  ++s.requests;

  if (path == "/sim/glm/stats") {
    return json_response(200, json::object{{"requests", s.requests},
                                           {"chat_requests", s.chat_requests},
                                           {"auth_failures", s.auth_failures},
                                           {"streams_open", s.streams_open},
                                           {"streams_completed", s.streams_completed},
                                           {"streams_cancelled", s.streams_cancelled},
                                           {"streams_server_closed", s.streams_server_closed},
                                           {"faults_pending", s.faults.size()},
                                           {"last_request_body", s.last_request_body},
                                           {"last_authorization", s.last_authorization}});
  }
  if (path.rfind("/sim/glm/", 0) == 0) {
    if (request.method != "POST") return glm_error(405, "405", "use POST");
    boost::system::error_code ec;
    auto body = request.body.empty() ? json::value(json::object{}) : json::parse(request.body, ec);
    if (ec || !body.is_object()) return glm_error(400, "400", "control body must be a JSON object");
    const auto& o = body.as_object();
    if (path == "/sim/glm/fault") {
      const auto* kind = o.if_contains("kind");
      if (!kind || !kind->is_string()) return glm_error(400, "400", "kind is required");
      static const std::vector<std::string> known = {
          "http_401",     "http_400", "http_429",         "sensitive_1301",
          "balance_1113", "http_500", "mid_stream_error", "sensitive_finish",
          "stall",        "hang",     "disconnect",       "truncate"};
      const std::string k(kind->as_string());
      if (std::find(known.begin(), known.end(), k) == known.end())
        return glm_error(400, "400", "unknown kind " + k);
      int count = 1;
      if (const auto* c = o.if_contains("count"); c && c->is_int64())
        count = static_cast<int>(c->as_int64());
      s.faults.push_back({k, count});
      return json_response(200, json::object{{"ok", true}, {"faults_pending", s.faults.size()}});
    }
    if (path == "/sim/glm/faults/clear") {
      s.faults.clear();
      return json_response(200, json::object{{"ok", true}});
    }
    if (path == "/sim/glm/config") {
      if (const auto* v = o.if_contains("chunk_delay_ms"); v && v->is_int64())
        s.options.chunk_delay = std::chrono::milliseconds(v->as_int64());
      if (const auto* v = o.if_contains("split_bytes"); v && v->is_int64())
        s.options.split_bytes = static_cast<std::size_t>(v->as_int64());
      if (const auto* v = o.if_contains("piece_chars"); v && v->is_int64() && v->as_int64() > 0)
        s.options.piece_chars = static_cast<std::size_t>(v->as_int64());
      if (const auto* v = o.if_contains("stamp"); v && v->is_bool()) s.options.stamp = v->as_bool();
      return json_response(200, json::object{{"ok", true}});
    }
    if (path == "/sim/glm/reset") {
      s.faults.clear();
      s.requests = s.chat_requests = s.auth_failures = 0;
      s.streams_completed = s.streams_cancelled = s.streams_server_closed =
          0;  // open ones stay counted
      s.last_request_body.clear();
      s.last_authorization.clear();
      return json_response(200, json::object{{"ok", true}});
    }
    return glm_error(404, "404", "unknown sim endpoint");
  }

  // The chat endpoint.
  if (request.method != "POST") return glm_error(405, "405", "use POST");
  ++s.chat_requests;
  s.last_request_body = request.body;
  s.last_authorization = request.header("Authorization");
  if (auto problem = s.auth_problem(s.last_authorization); !problem.empty()) {
    ++s.auth_failures;
    return glm_error(401, "1000", "authentication failed: " + problem);
  }
  boost::system::error_code ec;
  auto body = json::parse(request.body, ec);
  if (ec || !body.is_object()) return glm_error(400, "1214", "request body is not JSON");
  const auto& req = body.as_object();
  const auto* messages = req.if_contains("messages");
  if (!messages || !messages->is_array() || messages->as_array().empty())
    return glm_error(400, "1214", "messages must be a non-empty array");
  std::string model = "glm-4";
  if (const auto* m = req.if_contains("model"); m && m->is_string())
    model = std::string(m->as_string());
  bool streaming = false;
  if (const auto* st = req.if_contains("stream"); st && st->is_bool()) streaming = st->as_bool();

  std::string last_user;
  std::size_t prompt_chars = 0;
  for (const auto& message : messages->as_array()) {
    if (!message.is_object()) continue;
    const auto* content = message.as_object().if_contains("content");
    const auto* role = message.as_object().if_contains("role");
    if (!content || !content->is_string()) continue;
    prompt_chars += code_points(content->as_string()).size();
    if (role && role->is_string() && role->as_string() == "user")
      last_user = std::string(content->as_string());
  }

  const std::string fault = s.take_fault();
  if (fault == "http_401") return glm_error(401, "1000", "authentication failed (injected)");
  if (fault == "http_400") return glm_error(400, "1214", "bad parameter (injected)");
  if (fault == "http_429") return glm_error(429, "1302", "concurrency too high (injected)");
  if (fault == "sensitive_1301") return glm_error(400, "1301", "unsafe content (injected)");
  if (fault == "balance_1113") return glm_error(429, "1113", "account in arrears (injected)");
  if (fault == "http_500") return glm_error(500, "500", "internal error (injected)");
  if (fault == "hang") {
    SimResponse hang;
    hang.hang = true;
    return hang;
  }

  const std::string answer = glm_sim_answer(last_user);
  const auto chars = code_points(answer);
  const std::string id = "sim-" + std::to_string(s.next_id++);
  const std::int64_t created = now_ms() / 1000;
  json::object usage{{"prompt_tokens", prompt_chars},
                     {"completion_tokens", chars.size()},
                     {"total_tokens", prompt_chars + chars.size()}};

  if (!streaming) {
    return json_response(
        200,
        json::object{{"id", id},
                     {"created", created},
                     {"model", model},
                     {"choices",
                      json::array{json::object{
                          {"index", 0},
                          {"finish_reason", "stop"},
                          {"message", json::object{{"role", "assistant"}, {"content", answer}}}}}},
                     {"usage", usage}});
  }

  // B3 events: one per delta piece, then the finishing chunk with usage, then [DONE].
  auto event = [&](std::string_view content, const char* finish_reason, bool with_usage) {
    json::object choice{{"index", 0},
                        {"delta", json::object{{"role", "assistant"}, {"content", content}}}};
    if (finish_reason) choice["finish_reason"] = finish_reason;
    json::object chunk{
        {"id", id}, {"created", created}, {"model", model}, {"choices", json::array{choice}}};
    if (with_usage) chunk["usage"] = usage;
    return "data: " + json::serialize(chunk) + "\n\n";
  };
  std::vector<std::string> events;
  for (std::size_t i = 0; i < chars.size(); i += s.options.piece_chars) {
    std::string piece;
    for (std::size_t j = i; j < std::min(chars.size(), i + s.options.piece_chars); ++j)
      piece += chars[j];
    if (s.options.stamp) piece = "T" + std::string(kStampMarker) + "|";
    events.push_back(event(piece, nullptr, false));
  }
  const bool partial = fault == "mid_stream_error" || fault == "stall" || fault == "disconnect" ||
                       fault == "sensitive_finish";
  if (partial) events.resize(std::max<std::size_t>(1, events.size() / 2));
  if (fault == "mid_stream_error") {
    events.push_back(
        "data: " +
        json::serialize(json::object{
            {"error", json::object{{"code", "500"}, {"message", "inference failed (injected)"}}}}) +
        "\n\n");
  } else if (fault == "sensitive_finish") {
    events.push_back(event("", "sensitive", true));
    events.push_back("data: [DONE]\n\n");
  } else if (!partial) {
    events.push_back(event("", "stop", true));
    events.push_back("data: [DONE]\n\n");
  }

  if (fault == "truncate") {
    std::string all;
    for (const auto& e : events) all += e;
    SimResponse cut{200, "text/event-stream;charset=UTF-8", all};
    cut.truncate_at = static_cast<long>(all.size() / 2);
    return cut;
  }

  SimStream stream;
  stream.pace = s.options.chunk_delay;
  if (s.options.stamp && s.options.split_bytes == 0) stream.stamp_marker = kStampMarker;
  if (s.options.split_bytes > 0) {
    std::string all;
    for (const auto& e : events) all += e;
    for (std::size_t i = 0; i < all.size(); i += s.options.split_bytes)
      stream.pieces.push_back(all.substr(i, s.options.split_bytes));
  } else {
    stream.pieces = std::move(events);
  }
  if (fault == "stall") stream.end = SimStream::End::Stall;
  if (fault == "disconnect") stream.end = SimStream::End::Disconnect;
  ++s.streams_open;
  stream.on_end = [impl = impl_](StreamOutcome outcome) {
    std::lock_guard guard(impl->mutex);
    --impl->streams_open;
    if (outcome == StreamOutcome::Completed) ++impl->streams_completed;
    if (outcome == StreamOutcome::PeerClosed) ++impl->streams_cancelled;
    if (outcome == StreamOutcome::ServerClosed) ++impl->streams_server_closed;
  };
  return stream;
}

}  // namespace chatglmd::sim
