// Admin output: text that users wrote reaches the operator's terminal without its control
// characters (an ESC sequence in a model name must not retitle the window or clear the screen).
#include "app/output.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace chatglmd::app {
namespace {

TEST(AdminOutput, ControlCharactersInTextAreShownNotSent) {
  const std::string hostile =
      "glm\x1b]0;PWNED\x07\x1b[2J\x7f\xc2\x9b"
      "31m模型";
  const Record row{Field{"model", boost::json::value(hostile)}, Field{"chats", 3}};
  std::ostringstream table;
  print_table(table, {row}, false);
  std::ostringstream record;
  print_record(record, row, false);
  for (const auto& out : {table.str(), record.str()}) {
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    EXPECT_EQ(out.find('\x07'), std::string::npos) << out;
    EXPECT_EQ(out.find('\x7f'), std::string::npos) << out;
    EXPECT_EQ(out.find("\xc2\x9b"), std::string::npos) << "C1 CSI";
    EXPECT_NE(out.find("glm\\x1b]0;PWNED\\x07\\x1b[2J\\x7f\\x9b31m模型"), std::string::npos) << out;
  }
  std::ostringstream json;
  print_table(json, {row}, true);
  EXPECT_EQ(json.str().find('\x1b'), std::string::npos) << "JSON escapes control characters itself";
}

}  // namespace
}  // namespace chatglmd::app
