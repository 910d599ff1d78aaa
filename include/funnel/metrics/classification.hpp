#pragma once
/// @file classification.hpp
/// @brief Binary classification metrics with scikit-learn 1.2's exact definitions (ties, clipping,
/// zero-division) so figures computed in a C++ service equal the ones in a notebook.

#include <funnel/core/error.hpp>
#include <funnel/metrics/types.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace funnel::metrics {

/// @brief One point per distinct score threshold, highest threshold first (sklearn's
/// `_binary_clf_curve`): cumulative weighted true and false positives when predicting positive
/// for every score >= threshold.
struct binary_curve {
  std::vector<double> thresholds;  ///< distinct scores, descending
  std::vector<double> tps;         ///< weighted positives with score >= threshold
  std::vector<double> fps;         ///< weighted negatives with score >= threshold
};

/// @brief The cumulative counts behind ROC and PR curves. @throws invalid_argument,
/// dimension_mismatch.
[[nodiscard]] binary_curve binary_clf_curve(labels y_true, values y_score,
                                            weights sample_weight = {});

/// @brief ROC-AUC: trapezoid over distinct thresholds, so tied scores count half (sklearn
/// `roc_auc_score`). @throws invalid_argument when only one class is present (AUC undefined).
[[nodiscard]] double roc_auc(labels y_true, values y_score, weights sample_weight = {});

/// @brief Average precision: sum over thresholds of (R_k - R_{k-1}) P_k, the step sum of sklearn's
/// `average_precision_score` (not the trapezoid, which is optimistic).
/// @throws invalid_argument when there is no positive label.
[[nodiscard]] double average_precision(labels y_true, values y_score, weights sample_weight = {});

/// @brief Mean binary log loss of probabilities of class 1, clipped to [eps, 1 - eps] with
/// eps = 2.22e-16 (numpy float64 eps, sklearn 1.2's `eps="auto"`), then renormalised like sklearn.
/// @throws invalid_argument when a probability is NaN or only one class is present.
[[nodiscard]] double log_loss(labels y_true, values y_prob, weights sample_weight = {});

/// @brief Mean squared difference of probability and label (sklearn `brier_score_loss`).
[[nodiscard]] double brier_score(labels y_true, values y_prob, weights sample_weight = {});

/// @brief Weighted counts of a thresholded classifier (predict 1 when score >= threshold).
struct confusion_matrix {
  double tn = 0;  ///< true negatives
  double fp = 0;  ///< false positives
  double fn = 0;  ///< false negatives
  double tp = 0;  ///< true positives

  /// @brief (tp + tn) / total; 0 for an empty matrix.
  [[nodiscard]] double accuracy() const noexcept;
  /// @brief tp / (tp + fp); 0 when nothing is predicted positive (sklearn zero_division=0).
  [[nodiscard]] double precision() const noexcept;
  /// @brief tp / (tp + fn); 0 when there is no positive (sklearn zero_division=0).
  [[nodiscard]] double recall() const noexcept;
  /// @brief Harmonic mean of precision and recall; 0 when both are 0.
  [[nodiscard]] double f1() const noexcept;
  /// @brief fp / (fp + tn); 0 when there is no negative.
  [[nodiscard]] double false_positive_rate() const noexcept;
};

/// @brief Counts with the rule "score >= threshold means positive". @throws invalid_argument,
/// dimension_mismatch.
[[nodiscard]] confusion_matrix confusion_at(labels y_true, values y_score, double threshold,
                                            weights sample_weight = {});

/// @brief The cheapest threshold for a cost of false positives and of false negatives.
struct threshold_choice {
  double threshold = 0;     ///< predict positive when score >= threshold (+inf: never)
  double cost = 0;          ///< cost_fp * fp + cost_fn * fn at that threshold (weighted counts)
  confusion_matrix counts;  ///< the confusion matrix at that threshold
};

/// @brief Scans every distinct score (and "never positive") and returns the threshold with the
/// least total cost; among equal costs, the highest threshold (fewest positives) wins.
/// @throws invalid_argument for a negative or non-finite cost, dimension_mismatch.
[[nodiscard]] threshold_choice best_threshold(labels y_true, values y_score, double cost_fp,
                                              double cost_fn, weights sample_weight = {});

}  // namespace funnel::metrics
