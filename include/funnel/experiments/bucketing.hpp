#pragma once
/// @file bucketing.hpp
/// @brief Deterministic, salted hash bucketing of units (users, sessions) into variants, with
/// weights and exposure (coverage). Bit-compatible with GrowthBook's SDK hashing (versions 1 and 2,
/// FNV-1a 32-bit) so that a unit lands in the same variant here as on that platform; checked
/// against GrowthBook's published test vectors (tests/data/experiments/growthbook_cases.json).

#include <funnel/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace funnel::experiments {

/// @brief FNV-1a 32-bit hash of the bytes of `text`.
[[nodiscard]] constexpr std::uint32_t fnv1a32(std::string_view text) noexcept {
  std::uint32_t h = 2166136261u;
  for (const char c : text) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

/// @brief GrowthBook's hash of (seed, value) into [0, 1): version 1 is
/// `(fnv1a32(value + seed) % 1000) / 1000`, version 2 is
/// `(fnv1a32(to_string(fnv1a32(seed + value))) % 10000) / 10000`; other versions give nullopt.
/// Strings are hashed as UTF-8 bytes; GrowthBook's JavaScript SDK hashes UTF-16 code units, so
/// the two agree for ASCII ids (the usual case: numeric ids, UUIDs).
[[nodiscard]] inline std::optional<double> growthbook_hash(std::string_view seed,
                                                           std::string_view value, int version) {
  if (version == 1) {
    std::string s;
    s.reserve(value.size() + seed.size());
    s.append(value).append(seed);
    return static_cast<double>(fnv1a32(s) % 1000u) / 1000.0;
  }
  if (version == 2) {
    std::string s;
    s.reserve(value.size() + seed.size());
    s.append(seed).append(value);
    return static_cast<double>(fnv1a32(std::to_string(fnv1a32(s))) % 10000u) / 10000.0;
  }
  return std::nullopt;
}

/// @brief Half-open interval [start, end) of the unit hash that maps to one variant.
struct bucket_range {
  double start = 0.0;
  double end = 0.0;
};

/// @brief GrowthBook's getBucketRanges: variant i owns [c_i, c_i + coverage * w_i) where c_i is the
/// cumulative weight before i. Coverage is clamped to [0, 1]; weights of the wrong length or
/// summing outside [0.99, 1.01] fall back to equal weights (GrowthBook's rules, kept so that
/// assignments agree with it).
[[nodiscard]] inline std::vector<bucket_range> bucket_ranges(std::size_t variations,
                                                             double coverage,
                                                             std::span<const double> weights = {}) {
  coverage = std::isnan(coverage) ? 0.0 : std::min(1.0, std::max(0.0, coverage));
  std::vector<double> w(weights.begin(), weights.end());
  double total = 0.0;
  for (const double x : w) total += x;
  if (w.size() != variations || !(total >= 0.99 && total <= 1.01)) {
    w.assign(variations, 1.0 / static_cast<double>(variations));
  }
  std::vector<bucket_range> ranges;
  ranges.reserve(variations);
  double cumulative = 0.0;
  for (const double x : w) {
    const double start = cumulative;
    cumulative += x;
    ranges.push_back({start, start + coverage * x});
  }
  return ranges;
}

/// @brief Index of the range holding `n`, or nullopt (the unit is not exposed).
[[nodiscard]] inline std::optional<std::size_t> choose_variation(
    double n, std::span<const bucket_range> ranges) noexcept {
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (n >= ranges[i].start && n < ranges[i].end) return i;
  }
  return std::nullopt;
}

/// @brief Options of a `bucketer` (GrowthBook's defaults).
struct bucketer_options {
  /// Share of units per variant: empty = equal; otherwise one per variant, non-negative,
  /// summing to 1 +- 0.01.
  std::vector<double> weights{};
  double coverage = 1.0;  ///< share of units exposed, in [0, 1]
  int hash_version = 1;   ///< GrowthBook hash version, 1 or 2
};

/// @brief An experiment's assignment rule: salt (GrowthBook's seed, defaulting to the key),
/// weights, coverage (exposure) and hash version. Immutable after construction, so `assign` is
/// thread-safe and allocation-free apart from the hash's string concatenation.
class bucketer {
 public:
  /// @brief `variations` >= 2 variants split by `options` (weights, coverage, hash version).
  /// @throws invalid_argument naming the bad parameter (stricter than GrowthBook, which silently
  /// falls back to equal weights: a typo in a weight vector should not go unnoticed).
  bucketer(std::string salt, std::size_t variations, const bucketer_options& options = {})
      : salt_(std::move(salt)), hash_version_(options.hash_version) {
    const auto& weights = options.weights;
    const double coverage = options.coverage;
    const int hash_version = options.hash_version;
    if (variations < 2) {
      raise<invalid_argument>("experiments.bucketer",
                              "experiment '{}': need at least 2 variations, got {}", salt_,
                              variations);
    }
    if (!(coverage >= 0.0 && coverage <= 1.0)) {
      raise<invalid_argument>("experiments.bucketer",
                              "experiment '{}': bucketer_options.coverage {} is not in [0, 1]",
                              salt_, coverage);
    }
    if (hash_version != 1 && hash_version != 2) {
      raise<invalid_argument>("experiments.bucketer",
                              "experiment '{}': bucketer_options.hash_version {} (supported: 1, 2)",
                              salt_, hash_version);
    }
    if (!weights.empty()) {
      if (weights.size() != variations) {
        raise<invalid_argument>(
            "experiments.bucketer",
            "experiment '{}': bucketer_options.weights has {} values for {} variations", salt_,
            weights.size(), variations);
      }
      double total = 0.0;
      for (std::size_t i = 0; i < weights.size(); ++i) {
        if (!(weights[i] >= 0.0)) {
          raise<invalid_argument>("experiments.bucketer",
                                  "experiment '{}': bucketer_options.weights[{}] = {} is negative",
                                  salt_, i, weights[i]);
        }
        total += weights[i];
      }
      if (!(total >= 0.99 && total <= 1.01)) {
        raise<invalid_argument>("experiments.bucketer",
                                "experiment '{}': bucketer_options.weights sum to {}, not 1", salt_,
                                total);
      }
    }
    ranges_ = bucket_ranges(variations, coverage, weights);
  }

  /// @brief The variant of `unit_id`, or nullopt if the unit falls outside the exposure (or the
  /// id is empty, as GrowthBook does).
  [[nodiscard]] std::optional<std::size_t> assign(std::string_view unit_id) const {
    if (unit_id.empty()) return std::nullopt;
    const auto n = growthbook_hash(salt_, unit_id, hash_version_);
    return choose_variation(*n, ranges_);
  }

  /// @brief The unit's hash in [0, 1) (for logging and debugging assignments).
  [[nodiscard]] double unit_hash(std::string_view unit_id) const {
    return *growthbook_hash(salt_, unit_id, hash_version_);
  }

  [[nodiscard]] std::span<const bucket_range> ranges() const noexcept { return ranges_; }
  [[nodiscard]] const std::string& salt() const noexcept { return salt_; }

 private:
  std::string salt_;
  int hash_version_;
  std::vector<bucket_range> ranges_;
};

}  // namespace funnel::experiments
