#pragma once
// The chat request body both chat paths accept: {model, messages:[{role, content}]}.
#include <boost/json/value.hpp>
#include <optional>
#include <string>

#include "llm/chatglm_client.hpp"

namespace chatglmd::llm {

// Fills `out` from the body; a reason when the body is not that shape.
std::optional<std::string> parse_chat_body(const boost::json::value& body, ChatRequest& out);

}  // namespace chatglmd::llm
