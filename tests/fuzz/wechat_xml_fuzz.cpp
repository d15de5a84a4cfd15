// The WeChat portal's XML messages. Properties: a field is a piece of the message, and a value
// we wrap as CDATA reads back as itself.
#include "fuzz/fuzz_support.hpp"
#include "http/wechat_xml.hpp"

using namespace chatglmd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view xml = fuzz::as_text(data, size);
  for (std::string_view tag : {"FromUserName", "ToUserName", "MsgType", "Content", "xml"}) {
    auto value = http::xml_field(xml, tag);
    FUZZ_CHECK(xml.find(value) != std::string_view::npos);
  }
  std::string value(xml.substr(0, 256));
  if (value.find("]]>") == std::string::npos && value.find("</Content>") == std::string::npos) {
    auto reply = "<xml><Content>" + http::xml_cdata(value) + "</Content></xml>";
    FUZZ_CHECK(http::xml_field(reply, "Content") == value);
  }
  return 0;
}
