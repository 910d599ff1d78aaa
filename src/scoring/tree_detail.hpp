#pragma once
// Internals of tree_ensemble shared by its translation units (tree_ensemble.cpp, tree_validate.cpp,
// tree_compile.cpp, tree_evaluate.cpp).
#include <funnel/scoring/tree_ensemble.hpp>

#include <cstdint>
#include <vector>

namespace funnel::scoring::detail {

inline constexpr int max_tree_depth = 512;
inline constexpr std::uint32_t max_category = 1U << 24;  // XGBoost's bound (largest exact float)
inline constexpr double zero_threshold = static_cast<double>(1e-35F);  // LightGBM kZeroThreshold

/// Checks `trees` against `p` (and completes `p`: base_margin per group) before compilation.
/// @throws parse_error naming tree and node.
void validate_ensemble(ensemble_header& p, const std::vector<tree>& trees);

}  // namespace funnel::scoring::detail
