// eventshop/core/clock.hpp - an injectable source of wall-clock and steady time.
//
// Production code asks a `clock&` for the time instead of calling std::chrono directly, so tests
// can use `manual_clock` and move time by hand (deadlines, timestamps) without sleeping.
#pragma once

#include <atomic>
#include <chrono>

namespace eventshop {

class clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  using steady_point = std::chrono::steady_clock::time_point;

  virtual ~clock() = default;
  virtual time_point now() const = 0;           // wall clock, for event timestamps
  virtual steady_point steady_now() const = 0;  // monotonic, for deadlines and latency

  // The process-wide real clock. Thread safety: safe.
  static clock& system();
};

// A clock that only moves when told. Thread safety: safe (atomic).
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point{std::chrono::milliseconds{1'790'000'000'000}})
      : wall_(start.time_since_epoch().count()) {}

  time_point now() const override { return time_point{time_point::duration{wall_.load()}}; }
  steady_point steady_now() const override {
    return steady_point{steady_point::duration{steady_.load()}};
  }
  void advance(std::chrono::nanoseconds d) {
    wall_ += std::chrono::duration_cast<time_point::duration>(d).count();
    steady_ += std::chrono::duration_cast<steady_point::duration>(d).count();
  }

 private:
  std::atomic<time_point::rep> wall_;
  std::atomic<steady_point::rep> steady_{0};
};

}  // namespace eventshop
