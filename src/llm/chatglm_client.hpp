#pragma once
// ChatGLM v4 streaming client: POST {base_url}/chat/completions with stream:true, relaying each
// delta.content piece as it arrives and ending with one ChatResult.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "llm/chat_result.hpp"
#include "llm/zhipu_token.hpp"
#include "net/http_client.hpp"

namespace chatglmd::llm {

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int> max_tokens;
  std::string request_id;  // optional, client-chosen
  std::string user_id;     // optional, passed through for the upstream's abuse tracking
};

struct ChatGlmConfig {
  std::string base_url = "https://open.bigmodel.cn/api/paas/v4";
  std::string api_key;  // "<id>.<secret>"
  std::vector<std::string> models = {"glm-4", "glm-3-turbo"};
  core::Millis token_ttl{30 * 60 * 1000};
  core::Millis token_refresh_margin{60 * 1000};
  core::Millis connect_timeout{5000};
  core::Millis first_byte_timeout{60000};
  core::Millis idle_timeout{60000};
  core::Millis write_timeout{10000};
  std::size_t max_error_body = 64 * 1024;  // error answers are read up to this much
  // One stream event (its unfinished line plus its data); a larger one fails the call, since the
  // stream as a whole has no length limit.
  std::size_t max_event_bytes = 1024 * 1024;
};

struct ChatCallbacks {
  std::function<void(std::string_view piece)> on_delta;   // on an io thread, in order
  std::function<void(const ChatResult& result)> on_done;  // exactly once, after the last flush
  // After the on_delta calls of one upstream read (several events may arrive together), on the
  // same thread: a relay gathers a read's pieces and writes them here, one send per read.
  std::function<void()> on_flush;
};

// A call in flight; cancel() (or dropping the last reference) aborts the upstream request.
class ChatCall {
 public:
  virtual ~ChatCall() = default;
  virtual void cancel() = 0;
};

class ChatGlmClient {
 public:
  // A reason when the config cannot work (API key not "<id>.<secret>", bad base_url, ttl <=
  // margin).
  static std::optional<std::string> check(const ChatGlmConfig& config);
  // Throws std::invalid_argument when check() fails: call check() first.
  ChatGlmClient(net::HttpClient& http, const core::Clock& clock, ChatGlmConfig config);

  std::shared_ptr<ChatCall> start(const ChatRequest& request, ChatCallbacks callbacks);

  const ChatGlmConfig& config() const { return config_; }
  bool serves_model(std::string_view model) const;
  static std::string request_body(const ChatRequest& request);

 private:
  net::HttpClient& http_;
  ChatGlmConfig config_;
  std::string url_;
  std::shared_ptr<ZhipuTokenCache> tokens_;
};

}  // namespace chatglmd::llm
