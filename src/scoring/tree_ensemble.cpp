// tree_ensemble: the tree value type (building, depth), the reference decision rule, the
// constructor (validate, then compile) and model-level queries (memory, importance).
#include <funnel/core/error.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "scoring/tree_detail.hpp"

namespace funnel::scoring {

namespace {

bool in_categories(const std::vector<std::uint32_t>& cats, std::uint32_t c) noexcept {
  return std::binary_search(cats.begin(), cats.end(), c);
}

}  // namespace

std::int32_t next_node(const tree_node& n, double x, split_rule rule) noexcept {
  if (std::isnan(x)) return n.default_left ? n.left : n.right;
  if (n.categorical) {
    std::uint32_t cat = 0;
    if (rule == split_rule::less) {
      // XGBoost: negative or beyond 2^24 is an invalid category and goes left.
      const float xf = static_cast<float>(x);
      if (xf < 0.0F || xf >= static_cast<float>(detail::max_category)) return n.left;
      cat = static_cast<std::uint32_t>(static_cast<std::int32_t>(xf));
    } else {
      // LightGBM truncates toward zero first; only values <= -1 are negative categories.
      if (x <= -1.0 || x >= 2147483648.0) return n.left;
      cat = static_cast<std::uint32_t>(static_cast<std::int64_t>(x));
    }
    return in_categories(n.categories, cat) ? n.right : n.left;
  }
  if (n.zero_is_missing && x >= -detail::zero_threshold && x <= detail::zero_threshold) {
    return n.default_left ? n.left : n.right;
  }
  if (rule == split_rule::less) {
    return static_cast<float>(x) < static_cast<float>(n.threshold) ? n.left : n.right;
  }
  return x <= n.threshold ? n.left : n.right;
}

// ---------------------------------------------------------------------------------------- tree

tree tree::leaf_only(double value, double cover, std::int32_t group) {
  tree t;
  t.nodes[0].value = value;
  t.nodes[0].cover = cover;
  t.group = group;
  return t;
}

std::pair<std::int32_t, std::int32_t> tree::expand(std::int32_t node, std::int32_t feature,
                                                   double threshold, bool default_left,
                                                   double left_value, double right_value,
                                                   double gain, double left_cover,
                                                   double right_cover) {
  if (node < 0 || static_cast<std::size_t>(node) >= nodes.size() ||
      !nodes[static_cast<std::size_t>(node)].is_leaf()) {
    raise<invalid_argument>("scoring.tree", "expand: node {} is not a leaf of this tree ({} nodes)",
                            node, nodes.size());
  }
  const auto l = static_cast<std::int32_t>(nodes.size());
  tree_node left;
  left.value = left_value;
  left.cover = left_cover;
  tree_node right;
  right.value = right_value;
  right.cover = right_cover;
  nodes.push_back(left);
  nodes.push_back(right);
  auto& n = nodes[static_cast<std::size_t>(node)];
  n.left = l;
  n.right = l + 1;
  n.feature = feature;
  n.threshold = threshold;
  n.default_left = default_left;
  n.gain = gain;
  if (!linear.empty()) linear.resize(nodes.size());
  return {l, l + 1};
}

std::pair<std::int32_t, std::int32_t> tree::expand_categorical(
    std::int32_t node, std::int32_t feature, std::vector<std::uint32_t> right_categories,
    bool default_left, double left_value, double right_value, double gain, double left_cover,
    double right_cover) {
  auto children = expand(node, feature, 0.0, default_left, left_value, right_value, gain,
                         left_cover, right_cover);
  auto& n = nodes[static_cast<std::size_t>(node)];
  std::sort(right_categories.begin(), right_categories.end());
  right_categories.erase(std::unique(right_categories.begin(), right_categories.end()),
                         right_categories.end());
  n.categorical = true;
  n.categories = std::move(right_categories);
  return children;
}

int tree::depth() const {
  std::vector<int> d(nodes.size(), 0);
  int best = 0;
  detail::for_each_split(*this, [&](std::size_t i, const tree_node& n) {
    d[static_cast<std::size_t>(n.left)] = d[i] + 1;
    d[static_cast<std::size_t>(n.right)] = d[i] + 1;
    best = std::max(best, d[i] + 1);
  });
  return best;
}

tree_ensemble::tree_ensemble(ensemble_header params, std::vector<tree> trees)
    : params_(std::move(params)), trees_(std::move(trees)) {
  detail::validate_ensemble(params_, trees_);
  base_f_.resize(params_.num_groups);
  base_d_.resize(params_.num_groups);
  for (std::size_t g = 0; g < params_.num_groups; ++g) {
    base_f_[g] = static_cast<float>(params_.base_margin[g]);
    base_d_[g] = params_.base_margin[g];
  }
  average_divisor_ = params_.average_output && !trees_.empty()
                         ? static_cast<double>(trees_.size() / params_.num_groups)
                         : 1.0;
  compile();
}

namespace {
template <class V>
std::size_t bytes_of(const V& v) noexcept {
  return v.capacity() * sizeof(typename V::value_type);
}
}  // namespace

std::size_t tree_ensemble::memory_bytes() const noexcept {
  std::size_t b = sizeof(*this) + bytes_of(base_f_) + bytes_of(base_d_) + bytes_of(trees_);
  for (const auto& tr : trees_) {
    b += bytes_of(tr.nodes) + bytes_of(tr.linear);
    for (const auto& n : tr.nodes) b += bytes_of(n.categories);
    for (const auto& l : tr.linear) b += bytes_of(l.features) + bytes_of(l.coeffs);
  }
  const auto& f = fast_;
  b += bytes_of(f.nodes) + bytes_of(f.roots) + bytes_of(f.depths) + bytes_of(f.groups) +
       bytes_of(f.leaf_f) + bytes_of(f.leaf_d) + bytes_of(f.source_node) + bytes_of(f.cat_words) +
       bytes_of(f.cat_begin) + bytes_of(f.cat_count) + bytes_of(f.special_kind) +
       bytes_of(f.perf_threshold) + bytes_of(f.perf_feature) + bytes_of(f.perf_leaf_f) +
       bytes_of(f.perf_leaf_d) + bytes_of(f.perf_node) + bytes_of(f.perf_leaf) +
       bytes_of(f.perf_run_end);
  return b;
}

std::vector<double> tree_ensemble::importance(importance_type type) const {
  std::vector<double> sum(params_.num_features, 0.0);
  std::vector<double> count(params_.num_features, 0.0);
  for (const auto& tr : trees_) {
    detail::for_each_split(tr, [&](std::size_t, const tree_node& n) {
      const auto f = static_cast<std::size_t>(n.feature);
      count[f] += 1.0;
      if (type == importance_type::gain || type == importance_type::total_gain) sum[f] += n.gain;
      if (type == importance_type::cover || type == importance_type::total_cover) sum[f] += n.cover;
    });
  }
  if (type == importance_type::weight) return count;
  if (type == importance_type::gain || type == importance_type::cover) {
    for (std::size_t f = 0; f < sum.size(); ++f) sum[f] = count[f] > 0 ? sum[f] / count[f] : 0.0;
  }
  return sum;
}

}  // namespace funnel::scoring
