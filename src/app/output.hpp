#pragma once
// Admin output: aligned tables for people, JSON for scripts (--json), from the same records.
#include <boost/json/value.hpp>
#include <iosfwd>
#include <string>
#include <vector>

namespace chatglmd::app {

struct Field {
  std::string key;
  boost::json::value value;
};
using Record = std::vector<Field>;

void print_table(std::ostream& out, const std::vector<Record>& rows, bool json);
void print_record(std::ostream& out, const Record& record, bool json);

}  // namespace chatglmd::app
