#pragma once
/// @file treeshap.hpp
/// @brief Exact TreeSHAP (Lundberg et al., "Consistent individualized feature attribution for tree
/// ensembles", Algorithm 2) as XGBoost's `pred_contribs`: one contribution per feature plus a
/// bias column (expected value of the margin), per output group.

#include <funnel/scoring/tree_ensemble.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace funnel::scoring {

/// @brief Explains margins of one ensemble. Keeps a reference to the ensemble (which must outlive
/// it) and the per-node expected values. const members are thread-safe.
///
/// @code
/// funnel::scoring::tree_explainer shap(model);
/// std::vector<float> phi(shap.output_size());
/// shap.contributions(row, phi);   // phi[g * (F + 1) + f], bias at f = F; sums to the margin
/// @endcode
/// @brief One feature's part in one prediction (tree_explainer::top_reasons).
struct shap_reason {
  std::string feature;        ///< the model's name for the feature, or "f<index>" without names
  std::size_t index = 0;      ///< its column in the row
  double contribution = 0.0;  ///< SHAP value in margin units (positive raises the score)
  float value = 0.0F;         ///< the row's value of the feature (NaN when missing)
};

class tree_explainer {
 public:
  /// @brief Precomputes node mean values (cover-weighted, as XGBoost).
  /// @throws unsupported for linear-leaf trees or averaged (random forest) outputs.
  explicit tree_explainer(const tree_ensemble& model);
  /// @brief Deleted: the explainer keeps a reference, so a temporary model
  /// (`tree_explainer shap(load_xgboost(p));`) would dangle. Keep the model in a variable.
  tree_explainer(tree_ensemble&&) = delete;

  /// @brief num_groups * (num_features + 1).
  [[nodiscard]] std::size_t output_size() const noexcept {
    return model_->num_groups() * (model_->num_features() + 1);
  }
  /// @brief Contributions for one row into `out` (size output_size()).
  /// @throws dimension_mismatch when the row or output is too short.
  void contributions(row_view row, std::span<float> out) const;
  /// @brief The same in double.
  void contributions(row_view row, std::span<double> out) const;
  /// @brief The (at most) `k` features with the largest |contribution| to output `group`'s
  /// margin, largest first (ties: lower index first), named by the model's feature names.
  /// Features contributing exactly 0 are left out, so fewer than `k` may come back.
  /// @throws dimension_mismatch when the row width differs from the model's; invalid_argument
  /// when `group` >= num_groups().
  [[nodiscard]] std::vector<shap_reason> top_reasons(row_view row, std::size_t k,
                                                     std::size_t group = 0) const;

 private:
  const tree_ensemble* model_;
  std::vector<std::vector<double>> mean_;  ///< per tree, per node
  int max_depth_ = 0;
};

}  // namespace funnel::scoring
