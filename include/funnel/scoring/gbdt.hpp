#pragma once
/// @file gbdt.hpp
/// @brief Histogram gradient boosting in C++: quantile bins (<= 255 per feature plus a dedicated
/// missing-value bin), learned default directions, histogram subtraction, depth-wise or
/// leaf-wise growth, five objectives, early stopping. It trains into the same `tree_ensemble`
/// that XGBoost and LightGBM models are imported into, so a trained model serves, explains
/// (TreeSHAP) and exports to XGBoost JSON like any other.

#include <funnel/core/views.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace funnel::scoring {

/// @brief What is minimised.
enum class gbdt_objective {
  binary_logistic,  ///< labels in {0, 1}; XGBoost binary:logistic
  squared_error,    ///< XGBoost reg:squarederror
  multi_softmax,    ///< labels in {0 .. num_classes-1}; XGBoost multi:softprob
  lambdarank,       ///< LambdaMART optimising NDCG, labels = graded relevance, needs groups
  poisson,          ///< counts >= 0; XGBoost count:poisson
};

/// @brief How trees grow.
enum class growth_policy {
  depthwise,  ///< level by level up to max_depth (XGBoost's default)
  lossguide,  ///< best leaf first up to max_leaves (LightGBM's)
};

/// @brief Names of the objectives ("binary_logistic", "squared_error", "multi_softmax",
/// "lambdarank", "poisson"): `to_string`, `parse_enum`.
constexpr auto enum_names_of(gbdt_objective) {
  return enum_names<gbdt_objective, 5>{"gbdt objective",
                                       {{{gbdt_objective::binary_logistic, "binary_logistic"},
                                         {gbdt_objective::squared_error, "squared_error"},
                                         {gbdt_objective::multi_softmax, "multi_softmax"},
                                         {gbdt_objective::lambdarank, "lambdarank"},
                                         {gbdt_objective::poisson, "poisson"}}}};
}
/// @brief Names of the growth policies ("depthwise", "lossguide"): `to_string`, `parse_enum`.
constexpr auto enum_names_of(growth_policy) {
  return enum_names<growth_policy, 2>{
      "growth policy",
      {{{growth_policy::depthwise, "depthwise"}, {growth_policy::lossguide, "lossguide"}}}};
}

/// @brief Training data: dense features (NaN = missing) or sparse ones (CSR: entries not stored
/// are missing, as XGBoost reads libsvm), labels, optional weights and query groups.
struct gbdt_data {
  matrix_view features{};
  std::span<const float> labels{};
  std::span<const float> weights{};  ///< empty = all 1
  std::span<const std::size_t>
      group_sizes{};  ///< lambdarank: consecutive query sizes summing to rows
  /// Instead of `features` (leave that empty): CSR rows, e.g. a libsvm file or hashed features,
  /// trained without densifying. Not owned.
  const csr_matrix* sparse_features = nullptr;

  [[nodiscard]] std::size_t num_rows() const noexcept {
    return sparse_features != nullptr ? sparse_features->rows() : features.rows();
  }
  [[nodiscard]] std::size_t num_features() const noexcept {
    return sparse_features != nullptr ? sparse_features->cols : features.cols();
  }
};

/// @brief A metric for early stopping and progress, computed on transformed predictions
/// (probabilities, class-probability rows for multi-class, raw scores for ranking).
struct eval_metric {
  std::string name;
  bool higher_is_better = false;
  std::function<double(std::span<const float> labels, std::span<const double> predictions,
                       std::size_t num_groups, std::span<const std::size_t> group_sizes)>
      compute;

  static eval_metric auc();                ///< ROC-AUC (binary), funnel::metrics::roc_auc
  static eval_metric logloss();            ///< binary or multi-class log loss
  static eval_metric rmse();               ///< root mean squared error
  static eval_metric ndcg(std::size_t k);  ///< mean NDCG@k per query, exponential gain (LightGBM)
  static eval_metric poisson_nll();        ///< mean Poisson negative log-likelihood
};

/// @brief Progress after each boosting round.
struct gbdt_progress {
  std::size_t iteration = 0;  ///< 1-based
  std::size_t rounds = 0;     ///< planned
  std::optional<double> train_metric;
  std::optional<double> valid_metric;
  std::string metric_name;
  double elapsed_seconds = 0.0;
  double remaining_seconds = 0.0;  ///< estimate from the mean time per round so far
};

/// @brief The most gbdt_options::threads a fit starts (more: invalid_argument).
inline constexpr std::size_t gbdt_max_threads = 1024;
/// @brief The most gbdt_options::num_classes of multi_softmax (more: invalid_argument): margins
/// and gradients hold rows x classes values.
inline constexpr std::size_t gbdt_max_classes = 65536;

/// @brief Training parameters (defaults follow XGBoost 1.7's where they exist).
struct gbdt_options {
  gbdt_objective objective = gbdt_objective::binary_logistic;
  std::size_t num_classes = 0;  ///< multi_softmax only
  std::size_t rounds = 100;
  double learning_rate = 0.3;  ///< eta
  growth_policy growth = growth_policy::depthwise;
  std::size_t max_depth = 6;      ///< 0 = unlimited (lossguide only)
  std::size_t max_leaves = 0;     ///< lossguide: 0 = 31
  double lambda = 1.0;            ///< L2 on leaf weights
  double alpha = 0.0;             ///< L1 on leaf weights
  double min_child_weight = 1.0;  ///< minimum hessian sum in a child
  double min_split_gain = 0.0;    ///< gamma
  double subsample = 1.0;         ///< row fraction per tree
  double colsample_bytree = 1.0;  ///< feature fraction per tree
  double scale_pos_weight = 1.0;  ///< weight multiplier of positive rows (binary)
  std::size_t max_bins = 256;     ///< XGBoost's max_bin (2-256), plus a missing bin (see docs)
  /// Initial prediction in output space (0.5 is XGBoost 1.7's default); nullopt = estimated from
  /// the labels (log-odds of the mean, the mean, the log of the mean).
  std::optional<double> base_score{};
  std::vector<int> monotone{};             ///< per feature: +1 increasing, -1 decreasing, 0 free
  std::size_t lambdarank_truncation = 30;  ///< pairs where both ranks exceed it are skipped
  double poisson_max_delta_step = 0.7;     ///< XGBoost count:poisson's default
  std::uint64_t seed = 0;
  std::size_t threads = 1;  ///< for all the work of a fit; any count grows the same model
  std::size_t early_stopping_rounds = 0;  ///< 0 = off; needs a validation set and a metric
  std::function<void(const gbdt_progress&)> on_progress{};  ///< e.g. console_progress()
  /// Names of the feature columns in order (e.g. a features pipeline's output names), kept on
  /// the model (tree_ensemble::feature_names()); empty = none, else one unique name per column.
  std::vector<std::string> feature_names{};
};

/// @brief The trained model and its learning curve.
struct gbdt_fit {
  tree_ensemble model;  ///< truncated to the best iteration when early stopping
  std::vector<double> train_history;
  std::vector<double> valid_history;
  std::size_t best_iteration = 0;  ///< rounds kept
};

/// @brief Trains a boosted ensemble. `valid` and `metric` are optional (both needed for early
/// stopping); deterministic for a seed, and the same model for any thread count.
/// @throws invalid_argument (empty data, both dense and sparse features, labels outside the
/// objective's domain, NaN labels, groups not summing to the row count, bad options),
/// dimension_mismatch (a validation set with a different column count, label/weight lengths).
[[nodiscard]] gbdt_fit fit_gbdt(const gbdt_data& train, const gbdt_options& options,
                                const gbdt_data* valid = nullptr,
                                const eval_metric* metric = nullptr);

/// @brief A progress callback printing one line per `every` rounds to stderr.
[[nodiscard]] std::function<void(const gbdt_progress&)> console_progress(std::size_t every = 10);

}  // namespace funnel::scoring
