#pragma once
// Admin output: aligned tables for people, JSON for scripts (--json), from the same records.
#include <boost/json/value.hpp>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace chatglmd::app {

struct Field {
  std::string key;
  boost::json::value value;
};
using Record = std::vector<Field>;

// A UTC time as "2024-01-02 03:04:05Z"; null when absent.
boost::json::value utc_time_value(std::optional<core::UtcMs> t);

void print_table(std::ostream& out, const std::vector<Record>& rows, bool json);
void print_record(std::ostream& out, const Record& record, bool json);

}  // namespace chatglmd::app
