#pragma once
/// @file lightgbm.hpp
/// @brief Exact import of LightGBM text models (`model.txt`, `save_model`).

#include <funnel/scoring/tree_ensemble.hpp>

#include <filesystem>
#include <string_view>

namespace funnel::scoring {

/// @brief Parses a LightGBM text model. Numeric splits compare `double(x) <= threshold`;
/// decision_type bits (categorical, default_left, missing type None/Zero/NaN) are honoured;
/// categorical bitsets, multiclass, random forest (average_output) and linear trees load.
/// Margins are summed in double in tree order, as LightGBM does.
/// Objectives: binary, multiclass, multiclassova, cross_entropy, regression (and its l1/huber/
/// fair/quantile/mape variants), lambdarank, rank_xendcg, poisson, gamma, tweedie.
/// @throws parse_error naming the tree and field, unsupported for other objectives.
[[nodiscard]] tree_ensemble parse_lightgbm(std::string_view text,
                                           std::string_view source = "<buffer>");
/// @brief Loads a LightGBM `model.txt`. @throws io_error, parse_error, unsupported.
[[nodiscard]] tree_ensemble load_lightgbm(const std::filesystem::path& path);

}  // namespace funnel::scoring
