#include "metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <unistd.h>

namespace service {

void histogram::observe(double seconds) noexcept {
  const auto it = std::lower_bound(bounds.begin(), bounds.end(), seconds);
  counts_[static_cast<std::size_t>(it - bounds.begin())].fetch_add(1, std::memory_order_relaxed);
  micros_.fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e6),
                    std::memory_order_relaxed);
}

std::string histogram::render(const std::string& name, const std::string& labels) const {
  std::string out;
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t acc = 0;
  for (std::size_t b = 0; b < bounds.size(); ++b) {
    acc += counts_[b].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, bounds[b], acc);
  }
  acc += counts_[bounds.size()].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, acc);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += fmt::format("{}_sum{} {}\n", name, braces,
                     static_cast<double>(micros_.load(std::memory_order_relaxed)) * 1e-6);
  out += fmt::format("{}_count{} {}\n", name, braces, acc);
  return out;
}

histogram& metrics::find(std::map<std::string, std::unique_ptr<histogram>>& m,
                         const std::string& key) {
  const std::lock_guard lock(mu_);
  auto& h = m[key];
  if (!h) h = std::make_unique<histogram>();
  return *h;  // histograms are never removed: the reference outlives the lock
}

void metrics::request_latency(const std::string& endpoint, double seconds) {
  find(requests_, endpoint).observe(seconds);
}

void metrics::stage_latency(const std::string& stage, double seconds) {
  find(stages_, stage).observe(seconds);
}

void metrics::reply(const std::string& endpoint, int status) {
  add("funnel_service_http_replies_total",
      fmt::format("endpoint=\"{}\",code=\"{}\"", label_value(endpoint), status));
}

void metrics::add(const std::string& name, const std::string& labels, std::uint64_t n) {
  const std::lock_guard lock(mu_);
  counters_[{name, labels}] += n;
}

std::string metrics::render() const {
  const std::lock_guard lock(mu_);
  std::string out =
      "# HELP funnel_service_request_duration_seconds Server-side latency of a request.\n"
      "# TYPE funnel_service_request_duration_seconds histogram\n";
  for (const auto& [endpoint, h] : requests_) {
    out += h->render("funnel_service_request_duration_seconds",
                     fmt::format("endpoint=\"{}\"", label_value(endpoint)));
  }
  out +=
      "# HELP funnel_service_stage_duration_seconds Latency of one pipeline stage of a "
      "/recommend request.\n# TYPE funnel_service_stage_duration_seconds histogram\n";
  for (const auto& [stage, h] : stages_) {
    out += h->render("funnel_service_stage_duration_seconds",
                     fmt::format("stage=\"{}\"", label_value(stage)));
  }
  std::string last;
  for (const auto& [key, value] : counters_) {
    if (key.first != last) {
      out += fmt::format("# TYPE {} counter\n", key.first);
      last = key.first;
    }
    out += key.second.empty() ? fmt::format("{} {}\n", key.first, value)
                              : fmt::format("{}{{{}}} {}\n", key.first, key.second, value);
  }
  return out;
}

std::string label_value(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace service
