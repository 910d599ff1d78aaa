#pragma once
/// @file profile.hpp
/// @brief Reference profiles (fitted once on training data, saved as JSON) and live profiles
/// (updated per served value in O(log bins), bounded memory, tumbling or sliding count windows,
/// mergeable across threads and replicas).

#include <funnel/core/enum_names.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/core/views.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace funnel::drift {

/// @brief How a feature's values are compared.
enum class feature_kind {
  numeric,      ///< reference-quantile bins, PSI + KS + Wasserstein
  categorical,  ///< values are category codes; frequencies, PSI + chi-square
};

/// @brief Names "numeric", "categorical" (`to_string`, `parse_enum`).
constexpr auto enum_names_of(feature_kind) {
  return enum_names<feature_kind, 2>{
      "kind", {{{feature_kind::numeric, "numeric"}, {feature_kind::categorical, "categorical"}}}};
}
using funnel::to_string;

/// @brief One column of a monitored schema.
struct feature_spec {
  std::string name;                           ///< column name (labels in reports and metrics)
  feature_kind kind = feature_kind::numeric;  ///< numeric or categorical
};

/// @brief Options of fit_reference_profile.
struct profile_options {
  std::size_t bins = 10;                     ///< reference-quantile bins per numeric feature
  std::size_t max_reference_sample = 10000;  ///< kept (sorted) per numeric feature for exact KS
  std::uint64_t seed = 20261123;             ///< subsampling seed (deterministic profiles)
};

/// @brief The fitted reference of one feature.
struct feature_profile {
  std::string name;                           ///< feature name
  feature_kind kind = feature_kind::numeric;  ///< numeric or categorical
  std::vector<double> edges;                  ///< numeric: interior bin edges (see quantile_edges)
  std::vector<double> categories;  ///< categorical: sorted distinct codes; last bin is "other"
  std::vector<double> counts;      ///< reference count per bin
  double count = 0;                ///< non-missing reference values
  double missing = 0;              ///< missing (NaN) reference values
  std::vector<double> sample;      ///< numeric: sorted subsample (<= max_reference_sample)

  /// @brief Number of bins (numeric: edges + 1; categorical: categories + 1 for unseen codes).
  [[nodiscard]] std::size_t bins() const noexcept { return counts.size(); }
  /// @brief The bin of a non-missing value: O(log bins).
  [[nodiscard]] std::size_t bin_of(double value) const noexcept;
  /// @brief Human label of bin k ("[0.5, 1.2)", "code 3", "other").
  [[nodiscard]] std::string bin_label(std::size_t k) const;
  /// @brief Bitwise equality of every field (NaN equals NaN).
  friend bool operator==(const feature_profile& a, const feature_profile& b);
};

/// @brief Reference distributions of every monitored feature; immutable after fit, JSON value.
class reference_profile : public json_file_io<reference_profile> {
 public:
  reference_profile() = default;

  // fit_reference_profile (below) builds the model from its private parts.
  friend reference_profile fit_reference_profile(matrix_view data,
                                                 const std::vector<feature_spec>& schema,
                                                 const profile_options& options);

  /// @brief Adds one numeric feature from its values (NaN = missing). @throws invalid_argument.
  void add_numeric(const std::string& name, std::span<const double> values,
                   const profile_options& options = {});
  /// @brief Adds one categorical feature from its codes (NaN = missing). @throws invalid_argument.
  void add_categorical(const std::string& name, std::span<const double> codes);

  [[nodiscard]] const std::vector<feature_profile>& features() const noexcept { return features_; }
  [[nodiscard]] std::size_t size() const noexcept { return features_.size(); }
  /// @brief Index of feature `name`. @throws not_found naming it.
  [[nodiscard]] std::size_t index_of(std::string_view name) const;

  /// @brief JSON with header type "funnel.drift.reference_profile", version 1 (doubles
  /// round-trip); from_json also reads the earlier type "drift.reference_profile".
  [[nodiscard]] json to_json() const;
  /// @brief Loads and validates through core's strict JSON layer: every number finite, counts
  /// non-negative and summing to `count`, bins matching edges/categories, edges/categories
  /// strictly ascending, the sample sorted and no longer than `count`.
  /// @throws parse_error naming the feature and field.
  static reference_profile from_json(const json& j);

  friend bool operator==(const reference_profile&, const reference_profile&) = default;

 private:
  void check_new_name(const std::string& name) const;
  std::vector<feature_profile> features_;
};

/// @brief Fits every column of `data` (rows x schema.size(); NaN = missing).
/// @throws dimension_mismatch when the width differs from the schema; invalid_argument when a
/// feature has no non-missing value or names repeat.
[[nodiscard]] reference_profile fit_reference_profile(matrix_view data,
                                                      const std::vector<feature_spec>& schema,
                                                      const profile_options& options = {});

/// @brief Window over which live values are compared with the reference.
struct window_options {
  enum class kind_t {
    tumbling,  ///< non-overlapping windows of `size` rows; a completed window is kept for reports
    sliding,   ///< the last `size` rows, kept as `slices` sub-windows (drops a slice at a time)
    unbounded  ///< everything since the last reset (per-thread accumulators before merge)
  };
  kind_t kind = kind_t::tumbling;  ///< window kind
  std::size_t size = 10000;        ///< rows per window
  std::size_t slices = 10;         ///< sliding only: granularity of expiry
  std::size_t reservoir = 1024;    ///< live sample kept per numeric feature per window (KS, W1)
  std::uint64_t seed = 7;  ///< reservoir seed; each feature draws from its own generator seeded
                           ///< from this and the feature's name, so no feature's sample depends
                           ///< on another feature's values or kind
};

/// @brief Live counts of one feature over a window (the bins of its reference).
struct live_feature {
  std::vector<double> counts;  ///< per reference bin
  double missing = 0;          ///< NaN values
  std::vector<double> sample;  ///< uniform sample of the window's values (unsorted)
  double seen = 0;             ///< non-missing values seen (reservoir denominator)
};

/// @brief Largest `window_options::slices` (each slice holds every feature's bins and reservoir).
inline constexpr std::size_t max_window_slices = 4096;

/// @brief Per-window live profile. Not thread-safe: use one per thread and `merge`, or let a
/// monitor guard one with its mutex. Memory: slices x features x (bins + reservoir) doubles.
///
/// Each numeric feature keeps its own uniform reservoir (Algorithm R) drawn from its own random
/// generator, seeded from `window_options::seed` and the feature's name: a feature's sample, and
/// so its KS statistic, depends on that feature's values alone. While a window holds no more
/// values than the reservoir, the reservoir is the whole window and KS equals
/// scipy.stats.ks_2samp(reference sample, window values) exactly.
class live_profile {
 public:
  /// @brief A live profile against `reference`. @throws invalid_argument on a zero size, or
  /// (sliding) slices outside [1, min(size, max_window_slices)].
  live_profile(std::shared_ptr<const reference_profile> reference, window_options options = {});

  /// @brief Adds one row (one value per reference feature). Returns true when this row completed
  /// a tumbling window. O(features x log bins). @throws dimension_mismatch on a wrong width.
  bool observe(row_view row);
  /// @brief As observe, on doubles.
  bool observe(std::span<const double> row);

  /// @brief The window to evaluate: the last completed tumbling window (or the current one before
  /// any completed), the sum of sliding slices, or everything for unbounded.
  [[nodiscard]] std::vector<live_feature> window() const;
  /// @brief Rows in window().
  [[nodiscard]] std::size_t window_rows() const;
  /// @brief Rows in the window being filled.
  [[nodiscard]] std::size_t current_rows() const noexcept { return slices_[head_].rows; }

  /// @brief Adds another profile's current window (counts and reservoir) into this one's current
  /// slice, as if its rows had been observed here. @throws invalid_argument when the references
  /// differ.
  void merge(const live_profile& other);
  /// @brief Clears all windows.
  void reset();

  [[nodiscard]] const reference_profile& reference() const noexcept { return *ref_; }
  [[nodiscard]] const std::shared_ptr<const reference_profile>& reference_ptr() const noexcept {
    return ref_;
  }
  [[nodiscard]] const window_options& options() const noexcept { return opt_; }

 private:
  struct slice {
    std::vector<live_feature> features;
    std::size_t rows = 0;
  };
  slice make_slice() const;
  void add_value(live_feature& f, const feature_profile& p, rng& gen, double v);
  bool finish_row();
  static void merge_feature(live_feature& into, const live_feature& from, std::size_t cap,
                            rng& gen);
  /// The generator of feature j's reservoir: seeded from options.seed and the feature's name.
  static rng feature_rng(std::uint64_t seed, const std::string& name) noexcept;

  std::shared_ptr<const reference_profile> ref_;
  window_options opt_;
  std::vector<slice> slices_;
  std::size_t head_ = 0;
  std::size_t filled_ = 1;
  bool has_completed_ = false;
  slice completed_;
  std::vector<rng> gens_;  // one per feature: reservoirs are independent of each other
};

}  // namespace funnel::drift
