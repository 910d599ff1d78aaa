#pragma once
/// @file steps.hpp
/// @brief Numeric value steps: the float -> float transforms (scalers, log, clipping, winsorizing,
/// imputers, bucketizers) that a `numeric_column` chains. Each step is fitted on the non-missing
/// values reaching it, computes in double and maps NaN (missing) to NaN, except the imputer.

#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace funnel::features {

/// @brief numpy's default (`method="linear"`) quantile of sorted, non-empty `v`, q in [0, 1],
/// computed with numpy 1.24's exact arithmetic so fixtures from numpy/sklearn agree to the bit
/// in most cases.
[[nodiscard]] double linear_quantile(std::span<const double> sorted, double q) noexcept;

/// @brief (x - mean) / std, population std (sklearn StandardScaler). A constant column gets
/// std 1 (output 0), as sklearn does.
struct standard_scaler {
  static constexpr std::string_view type_name = "standard_scaler";
  bool with_mean = true;  ///< subtract the mean
  bool with_std = true;   ///< divide by the standard deviation
  double mean = 0.0;      ///< fitted
  double scale = 1.0;     ///< fitted; 1 when the std is 0 or with_std is false
  void fit(std::span<const double> values);
  [[nodiscard]] double apply(double x) const noexcept { return (x - mean) / scale; }
  friend bool operator==(const standard_scaler&, const standard_scaler&) = default;
};

/// @brief Maps [min, max] seen in fit onto [lo, hi] (sklearn MinMaxScaler). Values outside the
/// fitted range map outside [lo, hi] (no clipping). A constant column maps to `lo`.
struct min_max_scaler {
  static constexpr std::string_view type_name = "min_max_scaler";
  double lo = 0.0;      ///< feature_range low
  double hi = 1.0;      ///< feature_range high
  double scale = 1.0;   ///< fitted: (hi - lo) / (max - min)
  double offset = 0.0;  ///< fitted: lo - min * scale
  void fit(std::span<const double> values);
  [[nodiscard]] double apply(double x) const noexcept { return x * scale + offset; }
  friend bool operator==(const min_max_scaler&, const min_max_scaler&) = default;
};

/// @brief (x - median) / (q_hi - q_lo) with numpy-linear percentiles (sklearn RobustScaler).
/// A zero inter-quantile range gives scale 1.
struct robust_scaler {
  static constexpr std::string_view type_name = "robust_scaler";
  double q_lo = 25.0;  ///< lower percentile, in [0, 100]
  double q_hi = 75.0;  ///< upper percentile, in [0, 100]
  bool with_centering = true;
  bool with_scaling = true;
  double center = 0.0;  ///< fitted median
  double scale = 1.0;   ///< fitted range
  void fit(std::span<const double> values);
  [[nodiscard]] double apply(double x) const noexcept { return (x - center) / scale; }
  friend bool operator==(const robust_scaler&, const robust_scaler&) = default;
};

/// @brief log1p(x), or the signed log sign(x) * log1p(|x|) which accepts any finite value.
/// Plain log1p of x <= -1 is an error (raised by the column naming the row), not a NaN.
struct log_transform {
  static constexpr std::string_view type_name = "log";
  bool signed_log = false;  ///< use sign(x) * log1p(|x|)
  void fit(std::span<const double>) noexcept {}
  [[nodiscard]] double apply(double x) const noexcept {
    if (signed_log) return x < 0 ? -std::log1p(-x) : std::log1p(x);
    return x > -1.0 ? std::log1p(x) : std::numeric_limits<double>::quiet_NaN();
  }
  friend bool operator==(const log_transform&, const log_transform&) = default;
};

/// @brief Clamps to fixed [lo, hi]; an absent bound is +-infinity.
struct clip {
  static constexpr std::string_view type_name = "clip";
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  void fit(std::span<const double>) noexcept {}
  [[nodiscard]] double apply(double x) const noexcept {
    return std::isnan(x) ? x : std::min(std::max(x, lo), hi);
  }
  friend bool operator==(const clip&, const clip&) = default;
};

/// @brief Clamps to the fitted [q_lo, q_hi] quantiles (numpy linear) of the training values.
struct winsorizer {
  static constexpr std::string_view type_name = "winsorizer";
  double q_lo = 0.01;  ///< lower quantile, in [0, 1]
  double q_hi = 0.99;  ///< upper quantile, in [0, 1]
  double lo = 0.0;     ///< fitted
  double hi = 0.0;     ///< fitted
  void fit(std::span<const double> values);
  [[nodiscard]] double apply(double x) const noexcept {
    return std::isnan(x) ? x : std::min(std::max(x, lo), hi);
  }
  friend bool operator==(const winsorizer&, const winsorizer&) = default;
};

/// @brief How an imputer chooses its fill value.
enum class impute_strategy { mean, median, most_frequent, constant };

/// @brief Replaces missing (NaN) with the fitted mean / median / most frequent value (ties: the
/// smallest, as sklearn) or a constant. Pair it with `numeric_column::missing_indicator`.
struct imputer {
  static constexpr std::string_view type_name = "imputer";
  impute_strategy strategy = impute_strategy::mean;
  double value = 0.0;  ///< the constant (strategy constant) or the fitted fill value
  void fit(std::span<const double> values);
  [[nodiscard]] double apply(double x) const noexcept { return std::isnan(x) ? value : x; }
  friend bool operator==(const imputer&, const imputer&) = default;
};

/// @brief Where quantile bucket edges fall.
enum class edge_rule {
  interpolate,  ///< numpy linear percentiles at k/num_bins (sklearn KBinsDiscretizer 'quantile')
  midpoint,     ///< GBDT histogram style: equal-frequency cuts placed halfway between two
                ///< distinct training values, so no training value sits on an edge
};

/// @brief Largest `quantile_bucketizer::num_bins` (fit loops over the bins; a loaded or configured
/// count is checked against this bound before any work).
inline constexpr std::size_t max_quantile_bins = 65536;

/// @brief Equal-frequency bucketizer: output is the bucket index 0..edges.size() as a float,
/// bucket = number of edges <= x. Duplicate edges are dropped (fewer buckets on heavy ties);
/// a constant column has no edges (everything in bucket 0). NaN stays NaN.
struct quantile_bucketizer {
  static constexpr std::string_view type_name = "quantile_bucketizer";
  std::size_t num_bins = 10;  ///< in [2, max_quantile_bins]
  edge_rule rule = edge_rule::midpoint;
  std::vector<double> edges;  ///< fitted inner edges, strictly increasing
  void fit(std::span<const double> values);
  [[nodiscard]] double apply(double x) const noexcept {
    if (std::isnan(x)) return x;
    return static_cast<double>(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin());
  }
  friend bool operator==(const quantile_bucketizer&, const quantile_bucketizer&) = default;
};

/// @brief Fixed-edge bucketizer: bucket = number of edges <= x (np.digitize, right=False).
struct fixed_bucketizer {
  static constexpr std::string_view type_name = "fixed_bucketizer";
  std::vector<double> edges;  ///< strictly increasing, finite
  void fit(std::span<const double>) {}
  [[nodiscard]] double apply(double x) const noexcept {
    if (std::isnan(x)) return x;
    return static_cast<double>(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin());
  }
  friend bool operator==(const fixed_bucketizer&, const fixed_bucketizer&) = default;
};

/// @brief Any numeric step; a closed set dispatched by `std::visit` (a jump table, no virtual
/// call), shared by compile-time and run-time pipelines.
using numeric_step = std::variant<standard_scaler, min_max_scaler, robust_scaler, log_transform,
                                  clip, winsorizer, imputer, quantile_bucketizer, fixed_bucketizer>;

/// @brief True for steps whose `fit` needs at least one non-missing value.
[[nodiscard]] bool needs_data(const numeric_step& s) noexcept;

/// @brief `{"type": ..., params, state}` of a step (each step's fields are listed once, in
/// steps.cpp, for both directions).
[[nodiscard]] json step_to_json(const numeric_step& s);
/// @brief @throws parse_error naming `ctx` and the field.
[[nodiscard]] numeric_step step_from_json(const json& j, std::string_view ctx);
/// @brief The step's JSON type name.
[[nodiscard]] std::string_view step_name(const numeric_step& s) noexcept;

}  // namespace funnel::features
