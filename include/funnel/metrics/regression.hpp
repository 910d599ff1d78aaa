#pragma once
/// @file regression.hpp
/// @brief Regression metrics with scikit-learn 1.2's definitions (weighted means, R² edge cases):
/// float targets and predictions, double weights, sums accumulated in double.

#include <funnel/metrics/types.hpp>

namespace funnel::metrics {

/// @brief Root of the (weighted) mean squared error. @throws dimension_mismatch, invalid_argument.
[[nodiscard]] double rmse(labels y_true, values y_pred, weights sample_weight = {});
/// @brief (Weighted) mean absolute error. @throws dimension_mismatch, invalid_argument.
[[nodiscard]] double mae(labels y_true, values y_pred, weights sample_weight = {});
/// @brief Coefficient of determination. A constant y_true gives 1 if predicted perfectly and 0
/// otherwise (sklearn's force_finite=True). @throws dimension_mismatch, invalid_argument.
[[nodiscard]] double r2(labels y_true, values y_pred, weights sample_weight = {});

}  // namespace funnel::metrics
