#pragma once
// The usage log's view of a chat (schema chat_log): one row when the chat ended or was
// refused, handed to the group committer so that writing it never delays an answer.
#include <string>
#include <string_view>

#include "http/handlers/app_services.hpp"
#include "llm/chat_result.hpp"
#include "store/records.hpp"

namespace chatglmd::http {

enum class Refusal;

// "refused:<check>" for the check that refused the chat.
std::string refusal_outcome(Refusal refusal);
// "ok", "cancelled" or "upstream:<kind>".
std::string result_outcome(const llm::ChatResult& result);

// Queues the row on the group committer; a row that cannot be written is logged and dropped
// (the answer was given either way). Without a committer (tests of parts of the front) the row
// is written at once.
void record_chat(const AppServices& services, store::ChatLogEntry entry);

}  // namespace chatglmd::http
