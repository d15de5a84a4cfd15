#include "http/wechat_xml.hpp"

namespace chatglmd::http {

std::string xml_field(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  auto b = xml.find(open);
  if (b == std::string_view::npos) return "";
  b += open.size();
  auto e = xml.find(close, b);
  if (e == std::string_view::npos) return "";
  std::string_view v = xml.substr(b, e - b);
  if (v.starts_with("<![CDATA[") && v.ends_with("]]>")) v = v.substr(9, v.size() - 12);
  return std::string(v);
}

std::string xml_cdata(std::string_view text) {
  return "<![CDATA[" + std::string(text) + "]]>";
}

}  // namespace chatglmd::http
