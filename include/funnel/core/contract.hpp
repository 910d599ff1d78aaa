#pragma once
/// @file contract.hpp
/// @brief The serving contract's shared vocabulary: what a scorer's `score` means
/// (score_scale), and the check that binds a feature producer's output columns to a model's
/// input features by name and position. docs/design.md has the whole contract in one table.

#include <funnel/core/enum_names.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace funnel {

/// @brief The scale of a scorer's `score()`. The rule (docs/design.md): `score()` is always the
/// model's margin, the number before its output transform; `predict()` is the transformed output
/// (a probability, a count). Scores are compared or combined only between scorers of one scale.
enum class score_scale : std::uint8_t {
  raw,                ///< identity link (regression, ranking, raw scores): predict() == score()
  log_odds,           ///< binary classification: predict() = sigmoid(score())
  log,                ///< count / gamma / Tweedie regression: predict() = exp(score())
  multiclass_logits,  ///< per-class margins (score() is class 0's); predict() = softmax
};

/// @brief Names "raw", "log_odds", "log", "multiclass_logits" (`to_string`, `parse_enum`).
constexpr auto enum_names_of(score_scale) {
  return enum_names<score_scale, 4>{"score scale",
                                    {{{score_scale::raw, "raw"},
                                      {score_scale::log_odds, "log_odds"},
                                      {score_scale::log, "log"},
                                      {score_scale::multiclass_logits, "multiclass_logits"}}}};
}

/// @brief Checks that two scorers whose scores will be compared or combined (canary and main,
/// shadow and main, cascade light and main) are on one scale.
/// @throws invalid_argument "<where>: <what_a> scores on scale 'log_odds', <what_b> on 'raw'".
void check_same_scale(score_scale a, score_scale b, std::string_view where, std::string_view what_a,
                      std::string_view what_b);

/// @brief Binds a producer's output columns to a model's input features, in order.
///
/// When `model_names` is empty (a model that carries no names) only the widths are compared and
/// the result is false, so the caller can warn; otherwise every position must hold the same name
/// and the result is true.
/// @throws dimension_mismatch when the widths differ; invalid_argument naming the first position
/// whose names differ ("<where>: feature 3 is 'income' in the features but 'assets' in the
/// model").
bool check_feature_binding(std::span<const std::string> produced,
                           std::span<const std::string> model_names, std::size_t model_width,
                           std::string_view where);

}  // namespace funnel
