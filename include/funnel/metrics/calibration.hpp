#pragma once
/// @file calibration.hpp
/// @brief Reliability diagrams, expected calibration error, and the two calibrators scikit-learn
/// offers (Platt's sigmoid and isotonic regression) as fitted, JSON-serialisable values.

#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/metrics/classification.hpp>

#include <cstddef>
#include <filesystem>
#include <span>
#include <vector>

namespace funnel::metrics {

/// @brief How calibration bins are placed.
enum class bin_strategy {
  uniform,   ///< num_bins equal-width bins on [0, 1]
  quantile,  ///< edges at the probabilities' quantiles (numpy linear interpolation)
};

/// @brief Non-empty bins of a reliability diagram, in increasing order of probability.
struct reliability_bins {
  std::vector<double> prob_true;  ///< fraction of positives in the bin (sklearn `prob_true`)
  std::vector<double> prob_pred;  ///< mean predicted probability in the bin (sklearn `prob_pred`)
  std::vector<double> count;      ///< samples in the bin
};

/// @brief sklearn `calibration_curve`: a probability p goes to bin i when edge[i] < p <=
/// edge[i+1] (the first bin also takes p == 0); empty bins are dropped.
/// @throws invalid_argument when num_bins == 0 or a probability is outside [0, 1],
/// dimension_mismatch.
[[nodiscard]] reliability_bins calibration_curve(labels y_true, values y_prob,
                                                 std::size_t num_bins = 5,
                                                 bin_strategy strategy = bin_strategy::uniform);

/// @brief Expected calibration error: sum over the bins above of count/n * |prob_true - prob_pred|
/// (Naeini et al. 2015; not in scikit-learn, computed from its calibration_curve bins).
/// @throws as calibration_curve.
[[nodiscard]] double expected_calibration_error(labels y_true, values y_prob,
                                                std::size_t num_bins = 10,
                                                bin_strategy strategy = bin_strategy::uniform);

/// @brief Platt scaling: p = 1 / (1 + exp(a * score + b)), fitted on Platt's smoothed targets like
/// sklearn's `_sigmoid_calibration` (same objective; solved by Newton to a tighter tolerance than
/// sklearn's BFGS, so a and b agree to about 1e-5 and the objective is never worse).
class platt_calibrator : public json_file_io<platt_calibrator, 1> {
 public:
  /// @brief Fits a and b. @throws invalid_argument (one class, NaN score), dimension_mismatch,
  /// convergence_error if Newton's method fails (non-finite objective).
  void fit(labels y_true, values y_score, weights sample_weight = {});
  /// @brief Calibrated probability of one score.
  [[nodiscard]] double predict(double score) const noexcept;
  [[nodiscard]] double a() const noexcept { return a_; }  ///< slope (negative for a useful score)
  [[nodiscard]] double b() const noexcept { return b_; }  ///< offset
  /// @brief Platt's objective at (a, b), the quantity sklearn minimises.
  [[nodiscard]] static double objective(labels y_true, values y_score, weights sample_weight,
                                        double a, double b);
  /// @brief {"type": "funnel.metrics.platt_calibrator", "version": 1, "a", "b"}; from_json also
  /// reads the earlier type "platt_calibrator".
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field (a and b must be finite numbers).
  [[nodiscard]] static platt_calibrator from_json(const json& j);

 private:
  double a_ = 0;
  double b_ = 0;
};

/// @brief Isotonic regression by pool-adjacent-violators (sklearn `IsotonicRegression`,
/// increasing=True, out_of_bounds="clip"): scores closer than 1e-15 are merged first, predictions
/// interpolate linearly between fitted points and clip outside them.
class isotonic_calibrator : public json_file_io<isotonic_calibrator, 1> {
 public:
  /// @brief Fits on binary labels (0/1, checked), the calibrator's use.
  /// @throws invalid_argument (empty, a label other than 0/1, NaN), dimension_mismatch.
  void fit(labels y_true, values y_score, weights sample_weight = {});
  /// @brief Fits the non-decreasing step-linear map of `x` to targets `y` that may be any reals
  /// (isotonic regression; `fit` is this with 0/1 targets). Note the order: scores first, as
  /// sklearn's IsotonicRegression.fit(X, y).
  /// @throws invalid_argument (empty, NaN), dimension_mismatch.
  void fit_regression(values x, values y, weights sample_weight = {});
  /// @brief Calibrated value of one score (NaN stays NaN). Precondition: fitted.
  [[nodiscard]] double predict(double score) const noexcept;
  [[nodiscard]] const std::vector<double>& x_thresholds() const noexcept { return x_; }
  [[nodiscard]] const std::vector<double>& y_thresholds() const noexcept { return y_; }
  /// @brief {"type": "funnel.metrics.isotonic_calibrator", "version": 1, "x", "y"}; from_json
  /// also reads the earlier type "isotonic_calibrator".
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field (unsorted or mismatched thresholds included).
  [[nodiscard]] static isotonic_calibrator from_json(const json& j);

 private:
  std::vector<double> x_;
  std::vector<double> y_;
};

}  // namespace funnel::metrics
