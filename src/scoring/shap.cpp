// Exact TreeSHAP, following XGBoost's RegTree::TreeShap (path extension / unwinding).
#include <funnel/core/error.hpp>
#include <funnel/scoring/treeshap.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace funnel::scoring {

namespace {

struct path_element {
  int feature = -1;
  double zero_fraction = 0;
  double one_fraction = 0;
  double pweight = 0;
};

void extend_path(path_element* path, unsigned depth, double zero_fraction, double one_fraction,
                 int feature) {
  path[depth].feature = feature;
  path[depth].zero_fraction = zero_fraction;
  path[depth].one_fraction = one_fraction;
  path[depth].pweight = depth == 0 ? 1.0 : 0.0;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    const auto ui = static_cast<unsigned>(i);
    path[ui + 1].pweight +=
        one_fraction * path[ui].pweight * (i + 1) / static_cast<double>(depth + 1);
    path[ui].pweight =
        zero_fraction * path[ui].pweight * (depth - ui) / static_cast<double>(depth + 1);
  }
}

void unwind_path(path_element* path, unsigned depth, unsigned index) {
  const double one = path[index].one_fraction;
  const double zero = path[index].zero_fraction;
  double next_one = path[depth].pweight;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    const auto ui = static_cast<unsigned>(i);
    if (one != 0) {
      const double tmp = path[ui].pweight;
      path[ui].pweight = next_one * (depth + 1) / ((i + 1) * one);
      next_one = tmp - path[ui].pweight * zero * (depth - ui) / static_cast<double>(depth + 1);
    } else {
      path[ui].pweight = path[ui].pweight * (depth + 1) / (zero * (depth - ui));
    }
  }
  for (auto i = index; i < depth; ++i) {
    path[i].feature = path[i + 1].feature;
    path[i].zero_fraction = path[i + 1].zero_fraction;
    path[i].one_fraction = path[i + 1].one_fraction;
  }
}

double unwound_path_sum(const path_element* path, unsigned depth, unsigned index) {
  const double one = path[index].one_fraction;
  const double zero = path[index].zero_fraction;
  double next_one = path[depth].pweight;
  double total = 0;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    const auto ui = static_cast<unsigned>(i);
    if (one != 0) {
      const double tmp = next_one * (depth + 1) / ((i + 1) * one);
      total += tmp;
      next_one = path[ui].pweight - tmp * zero * ((depth - ui) / static_cast<double>(depth + 1));
    } else if (zero != 0) {
      total += (path[ui].pweight / zero) / ((depth - ui) / static_cast<double>(depth + 1));
    }
  }
  return total;
}

struct shap_context {
  const tree* t;
  split_rule rule;
  row_view row;
  double* phi;
};

void tree_shap(const shap_context& c, std::int32_t node, unsigned depth, path_element* parent_path,
               double parent_zero, double parent_one, int parent_feature) {
  const auto& n = c.t->nodes[static_cast<std::size_t>(node)];
  path_element* path = parent_path + depth + 1;
  std::copy(parent_path, parent_path + depth + 1, path);
  extend_path(path, depth, parent_zero, parent_one, parent_feature);
  if (n.is_leaf()) {
    for (unsigned i = 1; i <= depth; ++i) {
      const double w = unwound_path_sum(path, depth, i);
      const auto& el = path[i];
      c.phi[el.feature] += w * (el.one_fraction - el.zero_fraction) * n.value;
    }
    return;
  }
  const auto x = static_cast<double>(c.row[static_cast<std::size_t>(n.feature)]);
  const auto hot = next_node(n, x, c.rule);
  const auto cold = hot == n.left ? n.right : n.left;
  const double w = n.cover;
  const double hot_zero = c.t->nodes[static_cast<std::size_t>(hot)].cover / w;
  const double cold_zero = c.t->nodes[static_cast<std::size_t>(cold)].cover / w;
  double incoming_zero = 1;
  double incoming_one = 1;
  unsigned index = 0;
  for (; index <= depth; ++index) {
    if (path[index].feature == n.feature) break;
  }
  if (index != depth + 1) {
    incoming_zero = path[index].zero_fraction;
    incoming_one = path[index].one_fraction;
    unwind_path(path, depth, index);
    depth -= 1;
  }
  tree_shap(c, hot, depth + 1, path, hot_zero * incoming_zero, incoming_one, n.feature);
  tree_shap(c, cold, depth + 1, path, cold_zero * incoming_zero, 0, n.feature);
}

double fill_mean(const tree& t, std::size_t node, std::vector<double>& mean) {
  const auto& n = t.nodes[node];
  double r = 0;
  if (n.is_leaf()) {
    r = n.value;
  } else {
    const auto l = static_cast<std::size_t>(n.left);
    const auto rr = static_cast<std::size_t>(n.right);
    r = fill_mean(t, l, mean) * t.nodes[l].cover + fill_mean(t, rr, mean) * t.nodes[rr].cover;
    r = n.cover != 0 ? r / n.cover : 0.0;
  }
  mean[node] = r;
  return r;
}

}  // namespace

tree_explainer::tree_explainer(const tree_ensemble& model) : model_(&model) {
  if (model.header().average_output) {
    raise<unsupported>("scoring.tree_explainer",
                       "averaged (random forest) outputs are not supported");
  }
  for (std::size_t k = 0; k < model.trees().size(); ++k) {
    const auto& t = model.trees()[k];
    if (!t.linear.empty())
      raise<unsupported>("scoring.tree_explainer", "trees[{}] has linear leaves", k);
    for (std::size_t i = 0; i < t.nodes.size(); ++i) {
      const auto& n = t.nodes[i];
      if (!n.is_leaf() && !(n.cover > 0)) {
        raise<unsupported>("scoring.tree_explainer",
                           "trees[{}].nodes[{}] has no cover (sum_hessian); TreeSHAP needs it", k,
                           i);
      }
    }
    std::vector<double> mean(t.nodes.size(), 0.0);
    fill_mean(t, 0, mean);
    mean_.push_back(std::move(mean));
    max_depth_ = std::max(max_depth_, t.depth());
  }
}

void tree_explainer::contributions(row_view row, std::span<double> out) const {
  const auto F = model_->num_features();
  if (row.size() != F) {
    raise<dimension_mismatch>("scoring.tree_explainer",
                              "row has {} values, the model has {} features", row.size(), F);
  }
  if (out.size() != output_size()) {
    raise<dimension_mismatch>("scoring.tree_explainer", "output has {} slots, expected {}",
                              out.size(), output_size());
  }
  std::fill(out.begin(), out.end(), 0.0);
  const auto maxd = static_cast<std::size_t>(max_depth_) + 2;
  std::vector<path_element> path(maxd * (maxd + 1) / 2 + maxd);
  const auto& trees = model_->trees();
  for (std::size_t k = 0; k < trees.size(); ++k) {
    const auto g = static_cast<std::size_t>(trees[k].group);
    double* phi = out.data() + g * (F + 1);
    phi[F] += mean_[k][0];
    const shap_context c{&trees[k], model_->header().rule, row, phi};
    tree_shap(c, 0, 0, path.data(), 1.0, 1.0, -1);
  }
  for (std::size_t g = 0; g < model_->num_groups(); ++g) {
    out[g * (F + 1) + F] += model_->header().base_margin[g];
  }
}

void tree_explainer::contributions(row_view row, std::span<float> out) const {
  std::vector<double> d(output_size());
  if (out.size() != d.size()) {
    raise<dimension_mismatch>("scoring.tree_explainer", "output has {} slots, expected {}",
                              out.size(), d.size());
  }
  contributions(row, std::span<double>(d));
  for (std::size_t i = 0; i < d.size(); ++i) out[i] = static_cast<float>(d[i]);
}

}  // namespace funnel::scoring

namespace funnel::scoring {

std::vector<shap_reason> tree_explainer::top_reasons(row_view row, std::size_t k,
                                                     std::size_t group) const {
  if (group >= model_->num_groups()) {
    raise<invalid_argument>("scoring.tree_explainer",
                            "top_reasons: group {} out of range ({} groups)", group,
                            model_->num_groups());
  }
  const auto F = model_->num_features();
  std::vector<double> phi(output_size());
  contributions(row, std::span<double>(phi));
  const double* g = phi.data() + group * (F + 1);
  std::vector<std::size_t> order;
  for (std::size_t f = 0; f < F; ++f) {
    if (g[f] != 0.0) order.push_back(f);
  }
  const auto n = std::min(k, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                    [g](std::size_t a, std::size_t b) {
                      const double x = std::abs(g[a]);
                      const double y = std::abs(g[b]);
                      return x > y || (x == y && a < b);
                    });
  const auto& names = model_->feature_names();
  std::vector<shap_reason> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto f = order[i];
    out.push_back({names.empty() ? "f" + std::to_string(f) : names[f], f, g[f], row[f]});
  }
  return out;
}

}  // namespace funnel::scoring
