#pragma once
/// @file metrics.hpp
/// @brief The service's counters and latency histograms, rendered in the Prometheus text format
/// (version 0.0.4). funnel renders drift reports itself (drift_report::to_prometheus); request
/// and stage latencies are the service's to count.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace service {

/// @brief A latency histogram with fixed buckets (seconds), lock-free to observe.
class histogram {
 public:
  static constexpr std::array<double, 13> bounds = {
      0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
  void observe(double seconds) noexcept;
  /// @brief The `_bucket`, `_sum` and `_count` lines of metric `name` with `labels` (`a="b"`).
  [[nodiscard]] std::string render(const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> micros_{0};
};

/// @brief Named histograms and counters. Thread-safe.
class metrics {
 public:
  /// @brief Observes the latency of a request to `endpoint` (total, server side).
  void request_latency(const std::string& endpoint, double seconds);
  /// @brief Observes the latency of one pipeline stage ("retrieve:als-hnsw", "rank", ...).
  void stage_latency(const std::string& stage, double seconds);
  /// @brief Counts a reply of `endpoint` with `status`.
  void reply(const std::string& endpoint, int status);
  /// @brief Adds 1 to counter `name{labels}` (e.g. "funnel_service_degraded_total", "").
  void add(const std::string& name, const std::string& labels = "", std::uint64_t n = 1);
  /// @brief Everything, with HELP and TYPE lines.
  [[nodiscard]] std::string render() const;

 private:
  histogram& find(std::map<std::string, std::unique_ptr<histogram>>& m, const std::string& key);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<histogram>> requests_, stages_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> counters_;
};

/// @brief `value` escaped for a Prometheus label value (backslash, quote, newline).
[[nodiscard]] std::string label_value(const std::string& value);

/// @brief Resident set size of this process in bytes (Linux /proc/self/statm; 0 elsewhere).
[[nodiscard]] std::uint64_t resident_bytes();

}  // namespace service
