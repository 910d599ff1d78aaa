#pragma once
/// @file logistic_ftrl.hpp
/// @brief Online logistic regression by FTRL-proximal (McMahan et al., "Ad Click Prediction: a
/// View from the Trenches", KDD 2013, Algorithm 1), for CTR-style streams of sparse hashed rows.

#include <funnel/core/json.hpp>
#include <funnel/core/views.hpp>
#include <funnel/scoring/logistic.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace funnel::scoring {

/// @brief The widest feature space of an ftrl_logistic: 2^30 coordinates (feature_encoder's
/// widest, bits = 30), whose state (z and n, in double) takes 16 GiB.
inline constexpr std::size_t ftrl_max_features = std::size_t{1} << 30;

/// @brief Per-coordinate learning-rate and regularisation of FTRL-proximal (the paper's names).
struct ftrl_options {
  double alpha = 0.1;            ///< learning-rate scale α
  double beta = 1.0;             ///< learning-rate smoothing β
  double l1 = 1.0;               ///< λ1: drives rare features to exactly zero
  double l2 = 1.0;               ///< λ2
  std::size_t num_features = 0;  ///< width of the hashed space, in [1, ftrl_max_features]
  bool fit_intercept = true;     ///< an always-on bias coordinate, updated without λ1/λ2
  /// names of the input features (one per coordinate, none empty, none repeated) kept by the
  /// learner and its to_model(); empty when the space is hashed and unnamed
  std::vector<std::string> feature_names{};
};

/// @brief An FTRL-proximal learner. `update` mutates (not thread-safe: one writer, or one learner
/// per thread); the const calls are safe to make concurrently with other const calls.
///
/// Serving follows the contract of logistic_model: `score` is the margin (log-odds), `predict`
/// the probability, both checked; the `_unchecked` forms are noexcept. Scores are double (an
/// online learner's progressive validation compares them to 1e-12).
class ftrl_logistic {
 public:
  ftrl_logistic() = default;
  /// @brief @throws invalid_argument when num_features is 0 or above ftrl_max_features, a
  /// rate/penalty is out of domain, or a feature name is empty or repeated; dimension_mismatch
  /// when feature_names is neither empty nor one per feature.
  explicit ftrl_logistic(const ftrl_options& options);

  /// @brief Predicts, then learns from one labelled sparse row; returns the prediction made
  /// before the update (progressive validation). @throws dimension_mismatch (index out of range,
  /// indices/values sizes), invalid_argument (label not 0/1, non-finite value, negative weight,
  /// or a weight × value so large that the state would overflow: the learner is then left as it
  /// was), not_fitted (default-constructed learner).
  double update(sparse_row_view x, int y, double weight = 1.0);
  /// @brief The same for a dense row (every coordinate is touched). @throws as above.
  double update(row_view x, int y, double weight = 1.0);

  /// @brief The margin (log-odds) with the current weights. @throws dimension_mismatch (index
  /// >= num_features(), indices/values sizes), not_fitted (default-constructed learner).
  [[nodiscard]] double score(sparse_row_view x) const;
  /// @brief The margin of a dense row. @throws dimension_mismatch when x.size() !=
  /// num_features(), not_fitted.
  [[nodiscard]] double score(row_view x) const;
  /// @brief Probability of class 1, sigmoid(score(x)). @throws as score().
  [[nodiscard]] double predict(sparse_row_view x) const;
  /// @brief Probability of class 1 for a dense row. @throws as score().
  [[nodiscard]] double predict(row_view x) const;
  /// @brief score() without checks. Precondition: a constructed learner, indices <
  /// num_features().
  [[nodiscard]] double score_unchecked(sparse_row_view x) const noexcept;
  /// @brief predict() without checks. Precondition: as score_unchecked.
  [[nodiscard]] double predict_unchecked(sparse_row_view x) const noexcept;

  /// @brief Width of the feature space (ftrl_options::num_features).
  [[nodiscard]] std::size_t num_features() const noexcept { return opt_.num_features; }
  /// @brief Names of the input features; empty when the learner carries none.
  [[nodiscard]] const std::vector<std::string>& feature_names() const noexcept {
    return opt_.feature_names;
  }
  /// @brief What score() returns: always log_odds.
  [[nodiscard]] score_scale scale() const noexcept { return score_scale::log_odds; }

  /// @brief Current weight of coordinate i (closed form from z and n). Precondition: i <
  /// num_features().
  [[nodiscard]] double weight(std::size_t i) const noexcept;
  /// @brief Current bias: 0 without fit_intercept, and for a default-constructed learner.
  [[nodiscard]] double intercept() const noexcept;
  /// @brief A frozen serving model with the current weights (and the feature names).
  /// @throws not_fitted (default-constructed learner).
  [[nodiscard]] logistic_model to_model() const;
  /// @brief The options the learner was built with.
  [[nodiscard]] const ftrl_options& options() const noexcept { return opt_; }

  /// @brief Full learner state (z, n): training resumes bit for bit after a round trip.
  /// Type "funnel.scoring.ftrl_logistic" (the earlier "ftrl_logistic" still loads); version 2
  /// adds "feature_names"; version 1 files still load.
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  [[nodiscard]] static ftrl_logistic from_json(const json& j);
  /// @brief Atomic save (see write_file_atomic). @throws io_error, not_fitted
  /// (default-constructed learner), invalid_argument (a non-finite state, which load() would
  /// refuse; update() never makes one).
  void save(const std::filesystem::path& path) const;
  /// @brief @throws io_error, parse_error.
  [[nodiscard]] static ftrl_logistic load(const std::filesystem::path& path);

 private:
  [[nodiscard]] double weight_of(double z, double n, double l1, double l2) const noexcept;
  void check_row(sparse_row_view x) const;
  void learn(std::size_t i, double g);
  ftrl_options opt_;
  std::vector<double> z_;  // num_features (+1 bias at the end)
  std::vector<double> n_;
};

}  // namespace funnel::scoring
