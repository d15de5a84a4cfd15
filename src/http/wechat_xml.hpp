#pragma once
// The WeChat portal's XML messages (flat, small, optionally CDATA-wrapped fields).
#include <string>
#include <string_view>

namespace chatglmd::http {

// The text of the first <tag>...</tag>, without a CDATA wrapper; "" when absent or unclosed.
std::string xml_field(std::string_view xml, std::string_view tag);

// `text` wrapped as CDATA for an answer.
std::string xml_cdata(std::string_view text);

}  // namespace chatglmd::http
