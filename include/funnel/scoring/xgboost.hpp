#pragma once
/// @file xgboost.hpp
/// @brief Exact import of XGBoost models (JSON and UBJSON as saved by 1.7, 2.x and 3.x) and
/// export to XGBoost JSON that XGBoost 1.7 loads.

#include <funnel/core/json.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string_view>

namespace funnel::scoring {

/// @brief XGBoost major versions whose saved models funnel's tests load (fixtures saved by 1.7.4,
/// 2.x and 3.x schema documents). Models from other versions load only when every field
/// validates, and the loader warns (xgboost_load_options::on_warning).
inline constexpr int xgboost_tested_major_min = 1;
/// @brief See xgboost_tested_major_min.
inline constexpr int xgboost_tested_major_max = 3;

/// @brief Options of the XGBoost loaders.
struct xgboost_load_options {
  /// Called once with a message when the document's `version` is outside the tested range (or
  /// missing); the model still loads when its structure validates. Empty: no warning.
  std::function<void(std::string_view)> on_warning{};
};

/// @brief Builds an ensemble from a parsed XGBoost model document (`Booster.save_model("m.json")`).
/// Supported: gbtree boosters; objectives binary:logistic, binary:logitraw, reg:logistic,
/// reg:squarederror (and reg:linear, reg:squaredlogerror, reg:pseudohubererror,
/// reg:absoluteerror), multi:softprob, multi:softmax, rank:pairwise, rank:ndcg, rank:map,
/// count:poisson, reg:gamma, reg:tweedie; numeric and categorical splits; base_score written as
/// "5E-1" or "[5E-1]"; 2.x `iteration_indptr`. Keeps `feature_names` / `feature_types` and
/// records the document's version in params().source_version ("xgboost 1.7.4").
/// @throws parse_error naming the field (and tree / node), unsupported for other boosters,
/// objectives or vector-leaf trees.
[[nodiscard]] tree_ensemble from_xgboost_json(const json& model,
                                              std::string_view source = "xgboost",
                                              const xgboost_load_options& options = {});
/// @brief Parses XGBoost JSON text. @throws parse_error, unsupported.
[[nodiscard]] tree_ensemble parse_xgboost_json(std::string_view text,
                                               std::string_view source = "<buffer>",
                                               const xgboost_load_options& options = {});
/// @brief Parses XGBoost UBJSON bytes (`save_model("m.ubj")`). @throws parse_error, unsupported.
[[nodiscard]] tree_ensemble parse_xgboost_ubj(std::span<const std::uint8_t> bytes,
                                              std::string_view source = "<buffer>",
                                              const xgboost_load_options& options = {});
/// @brief Loads a `.json` or `.ubj` XGBoost model (format sniffed from the content).
/// @throws io_error, parse_error, unsupported.
[[nodiscard]] tree_ensemble load_xgboost(const std::filesystem::path& path,
                                         const xgboost_load_options& options = {});

/// @brief The ensemble as an XGBoost 1.7 JSON model document (gbtree), with its feature names
/// and types. Margins computed by XGBoost from it equal this ensemble's margins bit for bit.
/// @throws unsupported when the ensemble uses LightGBM-only semantics (`<=` splits, double sums,
/// zero-as-missing, linear leaves, averaged output).
[[nodiscard]] json to_xgboost_json(const tree_ensemble& model);
/// @brief Writes to_xgboost_json atomically. @throws unsupported, io_error.
void save_xgboost_json(const tree_ensemble& model, const std::filesystem::path& path);

}  // namespace funnel::scoring
