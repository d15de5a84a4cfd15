#pragma once
// Times are UTC epoch milliseconds; a Clock is injected so that tests never sleep.
#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <string>

namespace chatglmd::core {

using Millis = std::chrono::milliseconds;

struct UtcMs {
  std::int64_t ms = 0;
  auto operator<=>(const UtcMs&) const = default;
  friend UtcMs operator+(UtcMs t, Millis d) { return UtcMs{t.ms + d.count()}; }
  friend UtcMs operator-(UtcMs t, Millis d) { return UtcMs{t.ms - d.count()}; }
  friend Millis operator-(UtcMs a, UtcMs b) { return Millis{a.ms - b.ms}; }
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UtcMs now() const = 0;
};

class SystemClock final : public Clock {
 public:
  UtcMs now() const override;
};

// A clock that moves only when told to: the seam that lets tests run "30 minutes later" at once.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UtcMs start) : now_(start.ms) {}
  UtcMs now() const override { return UtcMs{now_.load()}; }
  void advance(Millis d) { now_ += d.count(); }
  void set(UtcMs t) { now_ = t.ms; }

 private:
  std::atomic<std::int64_t> now_;
};

// "2024-01-02 03:04:05" in the given fixed offset from UTC (Alipay uses GMT+8).
std::string format_wall_time(UtcMs t, int utc_offset_hours);

}  // namespace chatglmd::core
