#include "app/output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <ostream>
#include <string_view>

namespace chatglmd::app {
namespace {

// Text that users wrote (a model name, a product name, a reason) goes to the operator's
// terminal: control characters (C0, DEL, and C1 as UTF-8) are shown as \xNN, so none of them
// can move the cursor, retitle the window or write the clipboard.
std::string terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool c1 = c == 0xC2 && i + 1 < text.size() &&
                    static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c1) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[++i]));
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string cell(const boost::json::value& v) {
  if (v.is_string()) return terminal_safe(v.get_string());
  if (v.is_null()) return "-";
  return boost::json::serialize(v);
}

boost::json::object to_object(const Record& r) {
  boost::json::object o;
  for (const auto& f : r) o[f.key] = f.value;
  return o;
}

}  // namespace

boost::json::value utc_time_value(std::optional<core::UtcMs> t) {
  if (!t) return nullptr;
  return boost::json::value(core::format_wall_time(*t, 0) + "Z");
}

void print_table(std::ostream& out, const std::vector<Record>& rows, bool json) {
  if (json) {
    boost::json::array a;
    for (const auto& r : rows) a.push_back(to_object(r));
    out << boost::json::serialize(a) << "\n";
    return;
  }
  if (rows.empty()) {
    out << "(none)\n";
    return;
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (std::size_t i = 0; i < width.size(); ++i) width[i] = rows.front()[i].key.size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], cell(r[i].value).size());
  auto line = [&](auto get) {
    std::string s;
    for (std::size_t i = 0; i < width.size(); ++i) {
      std::string c = get(i);
      s += c + (i + 1 < width.size() ? std::string(width[i] - c.size() + 2, ' ') : "");
    }
    out << s << "\n";
  };
  line([&](std::size_t i) {
    std::string k = rows.front()[i].key;
    std::transform(k.begin(), k.end(), k.begin(), ::toupper);
    return k;
  });
  for (const auto& r : rows)
    line([&](std::size_t i) { return i < r.size() ? cell(r[i].value) : ""; });
}

void print_record(std::ostream& out, const Record& record, bool json) {
  if (json) {
    out << boost::json::serialize(to_object(record)) << "\n";
    return;
  }
  std::size_t w = 0;
  for (const auto& f : record) w = std::max(w, f.key.size());
  for (const auto& f : record)
    out << f.key << ":" << std::string(w - f.key.size() + 1, ' ') << cell(f.value) << "\n";
}

}  // namespace chatglmd::app
