#include "llm/chatglm_client.hpp"

#include <atomic>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <mutex>
#include <stdexcept>

#include "llm/chunk_scan.hpp"
#include "llm/sse_parser.hpp"
#include "net/url.hpp"

namespace chatglmd::llm {

namespace json = boost::json;

namespace {

// The SSE events of one answer, turned into on_delta calls and one ChatResult.
class CallState : public std::enable_shared_from_this<CallState> {
 public:
  CallState(ChatCallbacks callbacks, std::size_t max_error_body, std::size_t max_event_bytes,
            std::string upstream)
      : upstream_(std::move(upstream)),
        callbacks_(std::move(callbacks)),
        max_error_body_(max_error_body),
        max_event_bytes_(max_event_bytes) {}

  net::StreamCallbacks net_callbacks() {
    auto self = shared_from_this();
    net::StreamCallbacks cb;
    cb.on_head = [self](int status, const net::Headers& headers) {
      return self->on_head(status, headers);
    };
    cb.on_data = [self](std::string_view piece) { return self->on_data(piece); };
    cb.on_done = [self](std::optional<net::NetError> error) { self->on_done(std::move(error)); };
    return cb;
  }
  // The stream may finish on an io thread before async_stream even returned the handle.
  void set_handle(std::shared_ptr<net::StreamHandle> handle) {
    std::lock_guard lock(handle_mutex_);
    if (!finished_) handle_ = std::move(handle);
  }
  void cancel() {
    cancelled_ = true;
    std::shared_ptr<net::StreamHandle> handle;
    {
      std::lock_guard lock(handle_mutex_);
      handle = handle_;
    }
    if (handle) handle->cancel();
  }

 private:
  bool on_head(int status, const net::Headers& headers) {
    result_.http_status = status;
    std::string content_type;
    for (const auto& [name, value] : headers)
      if (boost::beast::iequals(name, "Content-Type")) content_type = value;
    // Anything but an event stream is an error document (v4 {"error":..}, v3 {"code","msg"}).
    collecting_body_ = status != 200 || content_type.find("event-stream") == std::string::npos;
    return true;
  }

  bool on_data(std::string_view piece) {
    if (collecting_body_) {
      if (error_body_.size() < max_error_body_)
        error_body_.append(piece.substr(0, max_error_body_ - error_body_.size()));
      return true;
    }
    bool keep_going = true;
    unflushed_ = false;
    parser_.feed(piece, [&](const SseEvent& event) {
      if (keep_going) keep_going = on_event(event);
    });
    if (unflushed_ && callbacks_.on_flush) callbacks_.on_flush();
    if (keep_going && parser_.buffered() > max_event_bytes_) {
      fail(ChatErrorKind::Upstream,
           "stream event larger than " + std::to_string(max_event_bytes_) + " bytes");
      return false;
    }
    return keep_going;
  }

  bool on_event(const SseEvent& event) {
    if (event.is_done()) {
      saw_done_ = true;
      return true;
    }
    // One scanner per thread rather than per call: thousands of open streams would each keep
    // one. Nothing scans again on this thread before its findings are used below.
    thread_local ChunkScan scan;
    switch (scan.scan(event.data)) {
      case ChunkScan::Outcome::Malformed:
        fail(ChatErrorKind::Upstream, "malformed stream chunk");
        return false;
      case ChunkScan::Outcome::NeedsDocument:
        return on_event_document(event);
      case ChunkScan::Outcome::Read:
        break;
    }
    return deliver(scan.found());
  }

  // What one chunk said, read by the scan or from its document.
  bool deliver(const ChunkScan::Found& found) {
    for (std::string_view piece : found.pieces) {
      result_.delivered_any = true;
      unflushed_ = true;
      if (callbacks_.on_delta) callbacks_.on_delta(piece);
    }
    if (found.has_finish) result_.finish_reason = found.finish_reason;
    if (found.has_usage) result_.usage = found.usage;
    return true;
  }

  // The chunk as a document: an error object, or a key the scan does not take given twice.
  bool on_event_document(const SseEvent& event) {
    // Each event is parsed once, into memory on the stack that is dropped with it: a token's
    // chunk costs no heap allocation here.
    unsigned char scratch[4096];
    json::monotonic_resource arena(scratch, sizeof scratch);
    boost::system::error_code ec;
    auto value = json::parse(event.data, ec, &arena);
    if (ec || !value.is_object()) {
      fail(ChatErrorKind::Upstream, "malformed stream chunk");
      return false;
    }
    const auto& chunk = value.as_object();
    if (const auto* error = chunk.if_contains("error")) {
      take_error_object(*error, 0);
      return false;
    }
    ChunkScan::Found found;
    read_chunk_document(chunk, found);
    return deliver(found);
  }

  void take_error_object(const json::value& error, int status) {
    std::string code, message;
    if (error.is_object()) {
      const auto& o = error.as_object();
      if (const auto* c = o.if_contains("code"))
        code = c->is_string() ? std::string(c->as_string()) : json::serialize(*c);
      if (const auto* m = o.if_contains("message"); m && m->is_string())
        message = std::string(m->as_string());
    }
    result_.upstream_code = code;
    // An error object after the stream began is an upstream failure unless its code says more.
    ChatErrorKind kind = classify_upstream_error(status, code);
    if (status == 0 && kind == ChatErrorKind::BadRequest) kind = ChatErrorKind::Upstream;
    fail(kind, message.empty() ? "upstream error " + code : message);
  }

  void take_error_body() {
    boost::system::error_code ec;
    auto value = json::parse(error_body_, ec);
    if (!ec && value.is_object()) {
      const auto& o = value.as_object();
      if (const auto* error = o.if_contains("error")) {
        take_error_object(*error, result_.http_status);
        return;
      }
      if (const auto* code =
              o.if_contains("code")) {  // v3 style {"code":1301,"msg":..,"success":false}
        json::object wrapped;
        wrapped["code"] = code->is_string() ? json::value(code->as_string())
                                            : json::value(json::serialize(*code));
        if (const auto* msg = o.if_contains("msg")) wrapped["message"] = *msg;
        take_error_object(wrapped, result_.http_status == 200 ? 0 : result_.http_status);
        return;
      }
    }
    fail(classify_upstream_error(result_.http_status, ""),
         "HTTP " + std::to_string(result_.http_status) + " without an error object");
  }

  void fail(ChatErrorKind kind, std::string detail) {
    if (result_.error != ChatErrorKind::None) return;  // the first cause wins
    result_.error = kind;
    result_.detail = std::move(detail);
  }

  void on_done(std::optional<net::NetError> error) {
    if (result_.error == ChatErrorKind::None) {
      if (cancelled_) {
        fail(ChatErrorKind::Cancelled, "cancelled by the caller");
      } else if (result_.http_status != 0 && collecting_body_ &&
                 (!error || error->kind != net::NetErrorKind::Cancelled)) {
        take_error_body();
      } else if (error) {
        fail(error->kind == net::NetErrorKind::Timeout ? ChatErrorKind::Timeout
                                                       : ChatErrorKind::Upstream,
             upstream_ + ": " + error->message);
      } else if (result_.finish_reason == "sensitive") {
        fail(ChatErrorKind::Sensitive, "answer stopped by moderation");
      } else if (result_.finish_reason == "network_error") {
        fail(ChatErrorKind::Upstream, "upstream inference failed");
      } else if (result_.finish_reason.empty() && !saw_done_) {
        fail(ChatErrorKind::Upstream, "answer ended without finish_reason or [DONE]");
      }
    }
    result_.message = user_message(result_.error);
    auto done = std::move(callbacks_.on_done);
    callbacks_ = {};
    std::shared_ptr<net::StreamHandle> handle;
    {
      std::lock_guard lock(handle_mutex_);
      finished_ = true;
      handle = std::move(handle_);
    }
    if (done) done(result_);
  }

  std::string upstream_;  // "chatglm <base_url>", so a network error says where it went
  ChatCallbacks callbacks_;
  std::size_t max_error_body_;
  std::size_t max_event_bytes_;
  std::mutex handle_mutex_;
  std::shared_ptr<net::StreamHandle> handle_;
  bool finished_ = false;
  std::atomic<bool> cancelled_{false};
  SseParser parser_;
  bool collecting_body_ = false;
  bool saw_done_ = false;
  bool unflushed_ = false;  // this read's events gave text: on_flush follows them
  std::string error_body_;
  ChatResult result_;
};

// What the caller holds: dropping it cancels like cancel() does.
class ChatCallHandle final : public ChatCall {
 public:
  explicit ChatCallHandle(std::shared_ptr<CallState> state) : state_(std::move(state)) {}
  ~ChatCallHandle() override { cancel(); }
  void cancel() override { state_->cancel(); }

 private:
  std::shared_ptr<CallState> state_;
};

}  // namespace

std::optional<std::string> ChatGlmClient::check(const ChatGlmConfig& config) {
  if (!ZhipuApiKey::parse(config.api_key)) return "ChatGLM API key must look like <id>.<secret>";
  std::string why;
  if (!net::parse_url(config.base_url + "/chat/completions", why))
    return "ChatGLM base_url: " + why;
  if (config.token_ttl <= config.token_refresh_margin)
    return "ChatGLM token_ttl must be longer than the refresh margin";
  if (config.models.empty()) return "ChatGLM models list is empty";
  return std::nullopt;
}

ChatGlmClient::ChatGlmClient(net::HttpClient& http, const core::Clock& clock, ChatGlmConfig config)
    : http_(http), config_(std::move(config)) {
  if (auto why = check(config_)) throw std::invalid_argument(*why);
  url_ = config_.base_url;
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
  url_ += "/chat/completions";
  tokens_ = std::make_shared<ZhipuTokenCache>(
      *ZhipuApiKey::parse(config_.api_key), clock,
      ZhipuTokenCache::Options{config_.token_ttl, config_.token_refresh_margin});
}

bool ChatGlmClient::serves_model(std::string_view model) const {
  for (const auto& m : config_.models)
    if (m == model) return true;
  return false;
}

std::string ChatGlmClient::request_body(const ChatRequest& request) {
  json::object body;
  body["model"] = request.model;
  json::array messages;
  for (const auto& m : request.messages)
    messages.push_back(json::object{{"role", m.role}, {"content", m.content}});
  body["messages"] = std::move(messages);
  body["stream"] = true;
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (request.max_tokens) body["max_tokens"] = *request.max_tokens;
  if (!request.request_id.empty()) body["request_id"] = request.request_id;
  if (!request.user_id.empty()) body["user_id"] = request.user_id;
  return json::serialize(body);
}

std::shared_ptr<ChatCall> ChatGlmClient::start(const ChatRequest& request,
                                               ChatCallbacks callbacks) {
  auto state = std::make_shared<CallState>(std::move(callbacks), config_.max_error_body,
                                           config_.max_event_bytes, "chatglm " + config_.base_url);
  net::HttpRequest http_request;
  http_request.method = "POST";
  http_request.url = url_;
  http_request.headers = {{"Authorization", "Bearer " + tokens_->token()},
                          {"Content-Type", "application/json"},
                          {"Accept", "text/event-stream"}};
  http_request.body = request_body(request);
  net::Timeouts timeouts;
  timeouts.connect = config_.connect_timeout;
  timeouts.write = config_.write_timeout;
  timeouts.first_byte = config_.first_byte_timeout;
  timeouts.idle = config_.idle_timeout;
  state->set_handle(http_.async_stream(std::move(http_request), timeouts, state->net_callbacks()));
  return std::make_shared<ChatCallHandle>(std::move(state));
}

}  // namespace chatglmd::llm
