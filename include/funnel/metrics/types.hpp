#pragma once
/// @file types.hpp
/// @brief The span types every metric takes: float labels and scores, double sample weights.

#include <span>

namespace funnel::metrics {

/// @brief Labels are floats (funnel's one label type, as GBDT and logistic take them): 0 or 1 for
/// the binary metrics, graded relevance for ranking, the target for regression. Scores,
/// probabilities and predictions are floats, as scorers write them, and every sum is accumulated
/// in double; an empty `sample_weight` means every sample weighs 1. Every function throws
/// dimension_mismatch when lengths differ and invalid_argument for a binary label other than 0/1
/// (naming its index), a negative or non-finite weight, or a NaN score.
using labels = std::span<const float>;
/// @brief Scores or probabilities.
using values = std::span<const float>;
/// @brief Sample weights (double: counts and costs, not model outputs).
using weights = std::span<const double>;

}  // namespace funnel::metrics
