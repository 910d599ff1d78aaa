#pragma once
/// @file neural_scorer.hpp
/// @brief Neural networks as funnel scorers (docs/neural.md): `neural_scorer` serves one output
/// of an ONNX model under the serving contract of trees and logistic regression (width checked,
/// `score` the margin, `predict` the transformed value, `scale` saying which); a
/// `multi_head_scorer` combines a multi-task ranker's named heads by weights set in JSON or per
/// request, and can record each head's value.
///
/// @code
/// auto ranker = funnel::scoring::load_onnx("dcn_ranker.onnx");
/// funnel::scoring::neural_scorer click(ranker, {.output = "click",
///                                              .scale = funnel::score_scale::log_odds});
/// float z = click.score(row);    // the logit, width checked
/// float p = click.predict(row);  // sigmoid(z)
/// @endcode

#include <funnel/core/contract.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/views.hpp>
#include <funnel/onnx/onnx_model.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace funnel::scoring {

/// @brief How a neural_scorer reads its model.
struct neural_scorer_options {
  std::string output{};                  ///< the output score() returns; empty: the first
  score_scale scale = score_scale::raw;  ///< what that output is (log_odds for a logit)
  /// names of the input columns, one per feature (or none), for the pipeline's binding check
  std::vector<std::string> feature_names{};
};

/// @brief One output of an ONNX model whose one input is a float32 row of num_features()
/// values and whose outputs hold one value per row. Const members are thread-safe.
class neural_scorer {
 public:
  /// @throws unsupported when the model's inputs or the output are not of that shape;
  /// not_found when options.output names no output; dimension_mismatch when feature_names are
  /// not one per feature; invalid_argument for a multiclass_logits scale.
  explicit neural_scorer(onnx_model model, const neural_scorer_options& options = {});

  /// @brief Number of features a row must have.
  [[nodiscard]] std::size_t num_features() const noexcept { return num_features_; }
  /// @brief Names of the input features (empty when none were given).
  [[nodiscard]] const std::vector<std::string>& feature_names() const noexcept { return names_; }
  /// @brief What score() returns (options.scale).
  [[nodiscard]] score_scale scale() const noexcept { return scale_; }
  /// @brief The name of the output served.
  [[nodiscard]] const std::string& output() const noexcept;
  /// @brief The evaluator.
  [[nodiscard]] const onnx_model& model() const noexcept { return model_; }

  /// @brief The output's value for one row (the margin). @throws dimension_mismatch when
  /// x.size() != num_features().
  [[nodiscard]] float score(row_view x) const;
  /// @brief score() transformed by the scale (sigmoid for log_odds, exp for log).
  /// @throws as score().
  [[nodiscard]] float predict(row_view x) const;
  /// @brief score() of every row. @throws dimension_mismatch when X.cols() != num_features()
  /// or out.size() != X.rows().
  void score_batch(matrix_view X, std::span<float> out) const;
  /// @brief predict() of every row. @throws as score_batch.
  void predict_batch(matrix_view X, std::span<float> out) const;

 private:
  onnx_model model_;
  std::size_t num_features_ = 0;
  std::size_t output_ = 0;
  score_scale scale_ = score_scale::raw;
  std::vector<std::string> names_;
};

/// @brief One head of a multi_head_scorer: an output of the model, its scale, its weight.
struct head_options {
  std::string name;                      ///< the model's output
  score_scale scale = score_scale::raw;  ///< log_odds heads are combined as probabilities
  float weight = 1.0f;                   ///< default weight in the combination
  friend bool operator==(const head_options&, const head_options&) = default;
};

/// @brief The heads of a multi_head_scorer and the names of its input features.
struct multi_head_options {
  std::vector<head_options> heads{};         ///< at least one
  std::vector<std::string> feature_names{};  ///< one per feature, or none

  /// @brief {"type": "funnel.scoring.multi_head_scorer", "version": 1, "heads": [{"name",
  /// "scale", "weight"}], "feature_names": [...]}.
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  [[nodiscard]] static multi_head_options from_json(const json& j);
  friend bool operator==(const multi_head_options&, const multi_head_options&) = default;
};

/// @brief What each head gave for each row of one call: `values[row * heads.size() + h]` is
/// head h's transformed value (a probability for a log_odds head), `weights` the weights used.
struct multi_head_trace {
  std::vector<std::string> heads;
  std::vector<float> weights;
  std::vector<float> values;
};

/// @brief {"heads": [...], "weights": [...], "values": [[row 0's heads], ...]}.
[[nodiscard]] json to_json(const multi_head_trace& t);

/// @brief A multi-task ranker's heads combined into one score: score = Σ_h w_h · value_h, with
/// value_h = predict of head h (sigmoid of a log_odds head, exp of a log head, the raw output
/// otherwise). The combination is on the raw scale. Const members are thread-safe.
class multi_head_scorer {
 public:
  /// @throws as neural_scorer for the model; not_found naming a head that is not an output;
  /// invalid_argument for no heads, a duplicate head, a non-finite weight or a
  /// multiclass_logits head.
  multi_head_scorer(onnx_model model, multi_head_options options);

  /// @brief Number of features a row must have.
  [[nodiscard]] std::size_t num_features() const noexcept { return num_features_; }
  /// @brief Names of the input features (empty when none were given).
  [[nodiscard]] const std::vector<std::string>& feature_names() const noexcept {
    return options_.feature_names;
  }
  /// @brief Always raw: a weighted sum of heads is no head's margin.
  [[nodiscard]] score_scale scale() const noexcept { return score_scale::raw; }
  /// @brief The heads, in combination order.
  [[nodiscard]] const std::vector<head_options>& heads() const noexcept { return options_.heads; }

  /// @brief The combined score of every row with the configured weights (the ScoringStage
  /// form). @throws dimension_mismatch as neural_scorer::score_batch.
  void score_batch(matrix_view X, std::span<float> out) const;
  /// @brief The combined score with this request's weights (one per head, in heads() order),
  /// recording each head's value in `trace` when given.
  /// @throws dimension_mismatch (weights, rows, out), invalid_argument (a non-finite weight).
  void score_batch(matrix_view X, std::span<float> out, std::span<const float> weights,
                   multi_head_trace* trace = nullptr) const;
  /// @brief The combined score of one row. @throws as score_batch.
  [[nodiscard]] float score(row_view x) const;

 private:
  onnx_model model_;
  multi_head_options options_;
  std::vector<float> default_weights_;
  std::vector<std::size_t> output_of_head_;
  std::size_t num_features_ = 0;
};

}  // namespace funnel::scoring
