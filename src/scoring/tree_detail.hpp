#pragma once
// Internals of tree_ensemble shared by its translation units (tree_ensemble.cpp, tree_validate.cpp,
// tree_compile.cpp, tree_evaluate.cpp).
#include <funnel/scoring/tree_ensemble.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace funnel::scoring::detail {

inline constexpr int max_tree_depth = 512;
inline constexpr std::uint32_t max_category = 1U << 24;  // XGBoost's bound (largest exact float)
inline constexpr double zero_threshold = static_cast<double>(1e-35F);  // LightGBM kZeroThreshold

/// Calls `visit(i, node)` on each split (non-leaf) node reachable from the root of `tr`, depth
/// first, before its children (left, then right) are queued: `visit` may check the children (and
/// must, on a tree not yet validated: the walk itself does not detect a cycle).
template <class Visit>
void for_each_split(const tree& tr, Visit&& visit) {
  std::vector<std::size_t> stack{0};
  while (!stack.empty()) {
    const auto i = stack.back();
    stack.pop_back();
    const auto& n = tr.nodes[i];
    if (n.is_leaf()) continue;
    visit(i, n);
    stack.push_back(static_cast<std::size_t>(n.left));
    stack.push_back(static_cast<std::size_t>(n.right));
  }
}

/// Checks `trees` against `p` (and completes `p`: base_margin per group) before compilation.
/// @throws parse_error naming tree and node.
void validate_ensemble(ensemble_header& p, const std::vector<tree>& trees);

}  // namespace funnel::scoring::detail
