#include "core/time.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <string>

namespace chatglmd::core {

UtcMs SystemClock::now() const {
  using namespace std::chrono;
  return UtcMs{duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()};
}

std::string format_wall_time(UtcMs t, int utc_offset_hours) {
  using namespace std::chrono;
  const sys_seconds s{duration_cast<seconds>(milliseconds{t.ms} + hours{utc_offset_hours})};
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", s);
}

}  // namespace chatglmd::core
