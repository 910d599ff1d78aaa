#pragma once
/// @file logistic_ftrl.hpp
/// @brief Online logistic regression by FTRL-proximal (McMahan et al., "Ad Click Prediction: a
/// View from the Trenches", KDD 2013, Algorithm 1), for CTR-style streams of sparse hashed rows.

#include <funnel/core/json.hpp>
#include <funnel/core/views.hpp>
#include <funnel/scoring/logistic.hpp>

#include <cstddef>
#include <vector>

namespace funnel::scoring {

/// @brief Per-coordinate learning-rate and regularisation of FTRL-proximal (the paper's names).
struct ftrl_options {
  double alpha = 0.1;          ///< learning-rate scale α
  double beta = 1.0;           ///< learning-rate smoothing β
  double l1 = 1.0;             ///< λ1: drives rare features to exactly zero
  double l2 = 1.0;             ///< λ2
  std::size_t n_features = 0;  ///< width of the (hashed) feature space, > 0
  bool fit_intercept = true;   ///< an always-on bias coordinate, updated without λ1/λ2
};

/// @brief An FTRL-proximal learner. `update` mutates (not thread-safe: one writer, or one learner
/// per thread); `predict` is const and safe to call concurrently with other const calls.
class ftrl_logistic {
 public:
  ftrl_logistic() = default;
  /// @brief @throws invalid_argument when n_features == 0 or a rate/penalty is out of domain.
  explicit ftrl_logistic(const ftrl_options& options);

  /// @brief Predicts, then learns from one labelled sparse row; returns the prediction made
  /// before the update (progressive validation). @throws dimension_mismatch (index out of range,
  /// indices/values sizes), invalid_argument (label not 0/1, non-finite value, negative weight).
  double update(sparse_row_view x, int y, double weight = 1.0);
  /// @brief The same for a dense row (every coordinate is touched). @throws as above.
  double update(row_view x, int y, double weight = 1.0);

  /// @brief Probability of class 1 with the current weights. Precondition: indices < n_features.
  [[nodiscard]] double predict(sparse_row_view x) const noexcept;
  /// @brief Current weight of coordinate i (closed form from z and n).
  [[nodiscard]] double weight(std::size_t i) const noexcept;
  /// @brief Current bias.
  [[nodiscard]] double intercept() const noexcept;
  /// @brief A frozen serving model with the current weights.
  [[nodiscard]] logistic_model to_model() const;
  [[nodiscard]] const ftrl_options& options() const noexcept { return opt_; }

  /// @brief Full learner state (z, n): training resumes bit for bit after a round trip.
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  [[nodiscard]] static ftrl_logistic from_json(const json& j);

 private:
  [[nodiscard]] double weight_of(double z, double n, double l1, double l2) const noexcept;
  void learn(std::size_t i, double g);
  ftrl_options opt_;
  std::vector<double> z_;  // n_features (+1 bias at the end)
  std::vector<double> n_;
};

}  // namespace funnel::scoring
