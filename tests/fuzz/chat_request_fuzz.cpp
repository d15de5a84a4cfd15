// The chat request body both chat paths accept. Property: the body re-serialised parses to the
// same request (what the upstream is sent does not depend on how the client spelt its JSON).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "fuzz/fuzz_support.hpp"
#include "llm/chat_request_json.hpp"

using namespace chatglmd;
namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::system::error_code ec;
  auto body = json::parse(fuzz::as_text(data, size), ec);
  if (ec) return 0;
  llm::ChatRequest request;
  if (llm::parse_chat_body(body, request)) return 0;
  FUZZ_CHECK(!request.model.empty() && !request.messages.empty());
  auto upstream = json::parse(json::serialize(body), ec);
  FUZZ_CHECK(!ec);
  llm::ChatRequest again;
  FUZZ_CHECK(!llm::parse_chat_body(upstream, again));
  FUZZ_CHECK(again.model == request.model);
  FUZZ_CHECK(again.messages.size() == request.messages.size());
  for (std::size_t i = 0; i < again.messages.size(); ++i) {
    FUZZ_CHECK(again.messages[i].role == request.messages[i].role);
    FUZZ_CHECK(again.messages[i].content == request.messages[i].content);
  }
  return 0;
}
