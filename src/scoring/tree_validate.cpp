// tree_ensemble validation: what the constructor checks before compiling (every importer and
// trainer goes through it).
#include <funnel/core/error.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <set>
#include <string_view>

#include "scoring/tree_detail.hpp"

namespace funnel::scoring {

namespace {

// Strings a model keeps are written back into JSON (to_json, to_xgboost_json), whose writer
// rejects invalid UTF-8: a model that loaded must also save.
bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1FU;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0FU;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07U;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3FU);
    }
    const std::uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void check_text(std::string_view s, std::string_view what, std::size_t index) {
  if (!valid_utf8(s)) {
    raise<parse_error>("scoring.tree_ensemble", "{}[{}] is not valid UTF-8", what, index);
  }
}

void validate_features(const ensemble_header& p) {
  check_text(p.objective, "objective", 0);
  check_text(p.source_version, "source_version", 0);
  for (std::size_t i = 0; i < p.feature_names.size(); ++i) {
    check_text(p.feature_names[i], "feature_names", i);
  }
  for (std::size_t i = 0; i < p.feature_types.size(); ++i) {
    check_text(p.feature_types[i], "feature_types", i);
  }
  if (!p.feature_names.empty()) {
    if (p.feature_names.size() != p.num_features) {
      raise<parse_error>("scoring.tree_ensemble",
                         "feature_names has {} names for num_features = {}", p.feature_names.size(),
                         p.num_features);
    }
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < p.feature_names.size(); ++i) {
      if (p.feature_names[i].empty()) {
        raise<parse_error>("scoring.tree_ensemble", "feature_names[{}] is empty", i);
      }
      if (!seen.insert(p.feature_names[i]).second) {
        raise<parse_error>("scoring.tree_ensemble", "feature_names[{}] = '{}' appears twice", i,
                           p.feature_names[i]);
      }
    }
  }
  if (!p.feature_types.empty() && p.feature_types.size() != p.num_features) {
    raise<parse_error>("scoring.tree_ensemble",
                       "feature_types has {} entries for num_features = {}", p.feature_types.size(),
                       p.num_features);
  }
}

// The ensemble-level fields (and base_margin completed to one value per group).
void validate_params(ensemble_header& p, const std::vector<tree>& trees) {
  if (p.num_groups == 0) raise<parse_error>("scoring.tree_ensemble", "num_groups must be >= 1");
  // Every output needs a tree or a base margin of its own: the count that sizes per-group
  // buffers is then backed by the model's own content, never by a lone number in a file.
  const auto group_bound = std::max({std::size_t{1}, trees.size(), p.base_margin.size()});
  if (p.num_groups > group_bound) {
    raise<parse_error>("scoring.tree_ensemble",
                       "num_groups = {} exceeds what the model holds ({} trees, {} base margins)",
                       p.num_groups, trees.size(), p.base_margin.size());
  }
  if (p.num_features >= (std::size_t{1} << 30)) {
    raise<parse_error>("scoring.tree_ensemble", "num_features = {} is too large", p.num_features);
  }
  if (p.base_margin.size() == 1 && p.num_groups > 1) {
    p.base_margin.assign(p.num_groups, p.base_margin[0]);
  }
  if (p.base_margin.size() != p.num_groups) {
    raise<parse_error>("scoring.tree_ensemble",
                       "base_margin has {} values, expected 1 or num_groups = {}",
                       p.base_margin.size(), p.num_groups);
  }
  for (std::size_t g = 0; g < p.base_margin.size(); ++g) {
    if (!std::isfinite(p.base_margin[g])) {
      raise<parse_error>("scoring.tree_ensemble", "base_margin[{}] is not finite", g);
    }
  }
  if (!std::isfinite(p.sigmoid_scale))
    raise<parse_error>("scoring.tree_ensemble", "sigmoid_scale is not finite");
  validate_features(p);
  if (p.average_output && (trees.size() % p.num_groups) != 0) {
    raise<parse_error>("scoring.tree_ensemble",
                       "average_output needs a multiple of num_groups trees");
  }
}

// A leaf: no right child, a finite value, a well-formed linear model if the tree has them.
void validate_leaf(const ensemble_header& p, const tree& tr, std::size_t t, std::size_t i) {
  const auto& nd = tr.nodes[i];
  if (nd.right != -1) {
    raise<parse_error>("scoring.tree_ensemble", "trees[{}].nodes[{}]: left is -1 but right is {}",
                       t, i, nd.right);
  }
  if (!std::isfinite(nd.value)) {
    raise<parse_error>("scoring.tree_ensemble", "trees[{}].nodes[{}]: leaf value is not finite", t,
                       i);
  }
  if (!tr.linear.empty()) {
    const auto& lin = tr.linear[i];
    if (lin.features.size() != lin.coeffs.size() || !std::isfinite(lin.constant)) {
      raise<parse_error>("scoring.tree_ensemble", "trees[{}].nodes[{}]: malformed linear leaf", t,
                         i);
    }
    for (std::size_t k = 0; k < lin.features.size(); ++k) {
      if (lin.features[k] < 0 || static_cast<std::size_t>(lin.features[k]) >= p.num_features ||
          !std::isfinite(lin.coeffs[k])) {
        raise<parse_error>("scoring.tree_ensemble",
                           "trees[{}].nodes[{}]: linear feature {} out of range or bad coeff", t, i,
                           lin.features[k]);
      }
    }
  }
}

// A split: children in range and distinct, the feature in range, categories sorted and unique
// (categorical) or a threshold that is not NaN (numeric).
void validate_split(const ensemble_header& p, const tree& tr, std::size_t t, std::size_t i) {
  const auto& nd = tr.nodes[i];
  const auto n = tr.nodes.size();
  if (nd.left <= 0 || nd.right <= 0 || static_cast<std::size_t>(nd.left) >= n ||
      static_cast<std::size_t>(nd.right) >= n || nd.left == nd.right ||
      static_cast<std::size_t>(nd.left) == i || static_cast<std::size_t>(nd.right) == i) {
    raise<parse_error>("scoring.tree_ensemble",
                       "trees[{}].nodes[{}]: child pointers ({}, {}) invalid ({} nodes)", t, i,
                       nd.left, nd.right, n);
  }
  if (nd.feature < 0 || static_cast<std::size_t>(nd.feature) >= p.num_features) {
    raise<parse_error>("scoring.tree_ensemble",
                       "trees[{}].nodes[{}]: split feature {} out of range (num_features = {})", t,
                       i, nd.feature, p.num_features);
  }
  if (nd.categorical) {
    for (std::size_t k = 0; k < nd.categories.size(); ++k) {
      if (nd.categories[k] >= detail::max_category ||
          (k > 0 && nd.categories[k] <= nd.categories[k - 1])) {
        raise<parse_error>("scoring.tree_ensemble",
                           "trees[{}].nodes[{}]: categories must be sorted, unique and < 2^24", t,
                           i);
      }
    }
  } else if (std::isnan(nd.threshold)) {
    raise<parse_error>("scoring.tree_ensemble", "trees[{}].nodes[{}]: threshold is NaN", t, i);
  }
}

// Walk from the root: each reachable node must be reached once (no cycles, no shared children),
// within max_tree_depth. Unreachable nodes (XGBoost's deleted nodes) are allowed and ignored.
void validate_reachable(const tree& tr, std::size_t t) {
  const auto n = tr.nodes.size();
  std::vector<int> depth(n, -1);
  depth[0] = 0;
  detail::for_each_split(tr, [&](std::size_t i, const tree_node& nd) {
    for (const auto c : {nd.left, nd.right}) {
      const auto ci = static_cast<std::size_t>(c);
      if (depth[ci] >= 0) {
        raise<parse_error>("scoring.tree_ensemble",
                           "trees[{}].nodes[{}]: child {} is reached twice (cycle or shared node)",
                           t, i, c);
      }
      depth[ci] = depth[i] + 1;
      if (depth[ci] > detail::max_tree_depth) {
        raise<parse_error>("scoring.tree_ensemble", "trees[{}].nodes[{}]: depth exceeds {}", t, ci,
                           detail::max_tree_depth);
      }
    }
  });
}

void validate_tree(const ensemble_header& p, const tree& tr, std::size_t t) {
  const auto n = tr.nodes.size();
  if (n == 0) raise<parse_error>("scoring.tree_ensemble", "trees[{}] has no nodes", t);
  if (n >= (std::size_t{1} << 30))
    raise<parse_error>("scoring.tree_ensemble", "trees[{}] is too large", t);
  if (tr.leaf_index_offset < 0 || static_cast<std::size_t>(tr.leaf_index_offset) > n) {
    raise<parse_error>("scoring.tree_ensemble",
                       "trees[{}].leaf_index_offset = {} out of range ({} nodes)", t,
                       tr.leaf_index_offset, n);
  }
  if (tr.group < 0 || static_cast<std::size_t>(tr.group) >= p.num_groups) {
    raise<parse_error>("scoring.tree_ensemble",
                       "trees[{}].group = {} out of range (num_groups = {})", t, tr.group,
                       p.num_groups);
  }
  if (!tr.linear.empty() && tr.linear.size() != n) {
    raise<parse_error>("scoring.tree_ensemble", "trees[{}].linear has {} entries for {} nodes", t,
                       tr.linear.size(), n);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (tr.nodes[i].is_leaf()) {
      validate_leaf(p, tr, t, i);
    } else {
      validate_split(p, tr, t, i);
    }
  }
  validate_reachable(tr, t);
}

}  // namespace

void detail::validate_ensemble(ensemble_header& p, const std::vector<tree>& trees) {
  validate_params(p, trees);
  for (std::size_t t = 0; t < trees.size(); ++t) validate_tree(p, trees[t], t);
}

}  // namespace funnel::scoring
