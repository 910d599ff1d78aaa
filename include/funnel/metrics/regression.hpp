#pragma once
/// @file regression.hpp
/// @brief Regression metrics with scikit-learn 1.2's definitions (weighted means, R² edge cases).

#include <span>

namespace funnel::metrics {

/// @brief Root of the (weighted) mean squared error. @throws dimension_mismatch, invalid_argument.
[[nodiscard]] double rmse(std::span<const double> y_true, std::span<const double> y_pred,
                          std::span<const double> sample_weight = {});
/// @brief (Weighted) mean absolute error. @throws dimension_mismatch, invalid_argument.
[[nodiscard]] double mae(std::span<const double> y_true, std::span<const double> y_pred,
                         std::span<const double> sample_weight = {});
/// @brief Coefficient of determination. A constant y_true gives 1 if predicted perfectly and 0
/// otherwise (sklearn's force_finite=True). @throws dimension_mismatch, invalid_argument.
[[nodiscard]] double r2(std::span<const double> y_true, std::span<const double> y_pred,
                        std::span<const double> sample_weight = {});

}  // namespace funnel::metrics
