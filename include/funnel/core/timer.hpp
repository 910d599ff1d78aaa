#pragma once
/// @file timer.hpp
/// @brief A monotonic stopwatch for traces and benchmarks, a deadline for request budgets, and
/// the calling thread's CPU clock.

#include <chrono>
#include <cstdint>
#if defined(__unix__) || defined(__APPLE__)
#include <time.h>
#endif

namespace funnel {

/// @brief Monotonic stopwatch (steady_clock): never jumps with wall-clock changes.
class stopwatch {
 public:
  using clock = std::chrono::steady_clock;

  stopwatch() noexcept : start_(clock::now()) {}
  /// @brief Restarts from now.
  void reset() noexcept { start_ = clock::now(); }
  /// @brief Time since construction or the last reset.
  [[nodiscard]] clock::duration elapsed() const noexcept { return clock::now() - start_; }
  [[nodiscard]] std::int64_t elapsed_ns() const noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed()).count();
  }
  [[nodiscard]] double elapsed_us() const noexcept {
    return static_cast<double>(elapsed_ns()) * 1e-3;
  }
  [[nodiscard]] double elapsed_ms() const noexcept {
    return static_cast<double>(elapsed_ns()) * 1e-6;
  }
  [[nodiscard]] double elapsed_s() const noexcept {
    return static_cast<double>(elapsed_ns()) * 1e-9;
  }

 private:
  clock::time_point start_;
};

/// @brief A point in monotonic time by which work must finish.
class deadline {
 public:
  using clock = std::chrono::steady_clock;

  /// @brief A deadline that never expires.
  static deadline never() noexcept { return deadline(clock::time_point::max()); }
  /// @brief Expires `budget` from now.
  static deadline after(clock::duration budget) noexcept { return deadline(clock::now() + budget); }

  explicit deadline(clock::time_point at) noexcept : at_(at) {}
  [[nodiscard]] bool expired() const noexcept { return clock::now() >= at_; }
  [[nodiscard]] clock::duration remaining() const noexcept {
    const auto now = clock::now();
    return now >= at_ ? clock::duration::zero() : at_ - now;
  }
  [[nodiscard]] clock::time_point at() const noexcept { return at_; }
  /// @brief The earlier of this deadline and `budget` from now (a stage budget within a request).
  [[nodiscard]] deadline capped(clock::duration budget) const noexcept {
    const auto other = clock::now() + budget;
    return deadline(other < at_ ? other : at_);
  }

 private:
  clock::time_point at_;
};

// hot path (per pipeline stage when CPU tracing is on)

/// @brief CPU time consumed by the calling thread, in microseconds (0 where the platform has no
/// per-thread CPU clock).
inline double thread_cpu_us() noexcept {
#if defined(__unix__) || defined(__APPLE__)
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
#else
  return 0.0;
#endif
}

}  // namespace funnel
