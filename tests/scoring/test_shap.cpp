#include <funnel/scoring/lightgbm.hpp>
#include <funnel/scoring/treeshap.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "test_trees_util.hpp"

using namespace funnel::scoring;
using funnel::test::data;
using funnel::test::read_rows;

TEST_CASE("treeshap: contributions equal XGBoost's pred_contribs within 1e-5") {
  const std::pair<const char*, const char*> cases[] = {{"agaricus_logistic", "agaricus"},
                                                       {"credit_logistic", "credit"},
                                                       {"credit_poisson", "credit"},
                                                       {"lending_multi_softprob", "lending"},
                                                       {"lending_categorical", "lending_reg"}};
  for (const auto& [model, rows_name] : cases) {
    INFO(model);
    const auto m = load_xgboost(data(std::string("trees/xgb/") + model + ".json"));
    const tree_explainer shap(m);
    const auto rows = read_rows<float>(data(std::string("trees/xgb/") + rows_name + ".rows.txt"));
    const auto ref = read_rows<double>(data(std::string("trees/xgb/") + model + ".contribs.txt"));
    std::vector<double> phi(shap.output_size());
    std::vector<float> margin(m.num_groups());
    for (std::size_t i = 0; i < ref.size(); ++i) {
      shap.contributions(rows[i], phi);
      REQUIRE(ref[i].size() == phi.size());
      for (std::size_t k = 0; k < phi.size(); ++k) {
        INFO("row " << i << " column " << k);
        REQUIRE_THAT(phi[k], WithinAbs(ref[i][k], 1e-5));
      }
      // Local accuracy: contributions sum to the margin.
      m.margins(rows[i], margin);
      const auto F = m.num_features();
      for (std::size_t g = 0; g < m.num_groups(); ++g) {
        double s = 0;
        for (std::size_t f = 0; f <= F; ++f) s += phi[g * (F + 1) + f];
        REQUIRE_THAT(s, WithinAbs(margin[g], 1e-4));
      }
    }
  }
}

namespace {

// The model's own routing of `x` at numeric node `n` (LightGBM: NaN, and |x| <= 1e-35 for
// zero_is_missing, take the default; the split rule decides the rest).
bool goes_left(const tree_node& n, double x, split_rule rule) {
  if (std::isnan(x) || (n.zero_is_missing && std::fabs(x) <= 1e-35)) return n.default_left;
  return rule == split_rule::less ? x < n.threshold : x <= n.threshold;
}

// v(S) of path-dependent TreeSHAP, from its definition: features in S follow the row, the others
// average their children weighted by cover.
double expected_value(const tree& t, std::int32_t node, std::span<const float> row,
                      const std::vector<bool>& known, split_rule rule) {
  const auto& n = t.nodes[static_cast<std::size_t>(node)];
  if (n.is_leaf()) return n.value;
  if (known[static_cast<std::size_t>(n.feature)]) {
    return expected_value(
        t, goes_left(n, row[static_cast<std::size_t>(n.feature)], rule) ? n.left : n.right, row,
        known, rule);
  }
  const auto& l = t.nodes[static_cast<std::size_t>(n.left)];
  const auto& r = t.nodes[static_cast<std::size_t>(n.right)];
  return (l.cover * expected_value(t, n.left, row, known, rule) +
          r.cover * expected_value(t, n.right, row, known, rule)) /
         n.cover;
}

// Exact Shapley values of one tree by enumerating every subset of the features it uses:
// phi_i = sum over S not holding i of |S|! (M - |S| - 1)! / M! (v(S + i) - v(S)); the last entry
// is v({}) (the bias).
std::vector<double> brute_force_shapley(const tree& t, std::span<const float> row,
                                        std::size_t num_features, split_rule rule) {
  std::vector<std::int32_t> used;
  for (const auto& n : t.nodes) {
    if (!n.is_leaf() && std::find(used.begin(), used.end(), n.feature) == used.end()) {
      used.push_back(n.feature);
    }
  }
  const auto m = used.size();
  std::vector<double> factorial(m + 1, 1.0);
  for (std::size_t i = 1; i <= m; ++i) factorial[i] = factorial[i - 1] * static_cast<double>(i);
  std::vector<double> v(std::size_t{1} << m);
  for (std::size_t mask = 0; mask < v.size(); ++mask) {
    std::vector<bool> known(num_features, false);
    for (std::size_t b = 0; b < m; ++b) {
      if ((mask >> b) & 1U) known[static_cast<std::size_t>(used[b])] = true;
    }
    v[mask] = expected_value(t, 0, row, known, rule);
  }
  std::vector<double> phi(num_features + 1, 0.0);
  for (std::size_t b = 0; b < m; ++b) {
    for (std::size_t mask = 0; mask < v.size(); ++mask) {
      if ((mask >> b) & 1U) continue;
      const auto s = static_cast<std::size_t>(std::popcount(mask));
      const double w = factorial[s] * factorial[m - s - 1] / factorial[m];
      phi[static_cast<std::size_t>(used[b])] += w * (v[mask | (std::size_t{1} << b)] - v[mask]);
    }
  }
  phi[num_features] = v[0];
  return phi;
}

}  // namespace

TEST_CASE("treeshap: LightGBM contributions equal exact Shapley values by enumeration") {
  // Trees of a LightGBM model with missing values (NaN and zero-as-missing routing), each small
  // enough (<= 13 features) to enumerate every feature subset; the explainer must give every
  // feature its exact Shapley value, not only the right sum.
  const auto full = load_lightgbm(data("trees/lightgbm/binary_missing/model.txt"));
  const auto num_features = full.num_features();
  std::vector<tree> small;
  for (const auto& t : full.trees()) {
    std::vector<std::int32_t> used;
    for (const auto& n : t.nodes) {
      if (!n.is_leaf() && std::find(used.begin(), used.end(), n.feature) == used.end()) {
        used.push_back(n.feature);
      }
    }
    if (used.size() <= 13) small.push_back(t);
    if (small.size() == 6) break;
  }
  REQUIRE(small.size() == 6);
  const tree_ensemble m(full.header(), small);
  const tree_explainer shap(m);
  const auto rows = read_rows<float>(data("trees/lightgbm/binary_missing/test.tsv"), '\t');
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    const std::span<const float> row = std::span<const float>(rows[i]).subspan(1);  // label first
    REQUIRE(row.size() == num_features);
    std::vector<double> expect(num_features + 1, 0.0);
    for (const auto& t : small) {
      const auto phi = brute_force_shapley(t, row, num_features, m.header().rule);
      for (std::size_t f = 0; f <= num_features; ++f) expect[f] += phi[f];
    }
    expect[num_features] += m.header().base_margin[0];
    std::vector<double> got(shap.output_size());
    shap.contributions(row, got);
    for (std::size_t f = 0; f <= num_features; ++f) {
      INFO("row " << i << " feature " << f);
      REQUIRE_THAT(got[f], WithinAbs(expect[f], 1e-9));
      if (f < num_features && expect[f] != 0.0) ++nonzero;
    }
  }
  CHECK(nonzero > 30);  // the rows exercise many features, not only the bias
}

TEST_CASE("treeshap: linear trees and short rows are rejected") {
  const auto linear = load_lightgbm(data("trees/lightgbm/linear_tree/model.txt"));
  CHECK_THROWS_AS(tree_explainer{linear}, funnel::unsupported);
  const auto m = load_xgboost(data("trees/xgb/credit_logistic.json"));
  const tree_explainer shap(m);
  std::vector<float> row(m.num_features() - 1, 0.0F);
  std::vector<float> phi(shap.output_size());
  CHECK_THROWS_AS(shap.contributions(row, phi), funnel::dimension_mismatch);
}

// `tree_explainer shap(load_xgboost(p));` compiled and kept a reference to a destroyed model.
static_assert(!std::is_constructible_v<tree_explainer, tree_ensemble&&>,
              "a tree_explainer must not be built from a temporary ensemble");
static_assert(std::is_constructible_v<tree_explainer, const tree_ensemble&>);

TEST_CASE("treeshap: top_reasons names the largest contributions, largest first") {
  ensemble_header p;
  p.num_features = 4;
  p.transform = output_transform::sigmoid;
  p.feature_names = {"amount", "age", "country", "hour"};
  auto a = tree::leaf_only(0.0, 10.0);
  a.expand(0, 0, 100.0, false, -0.1, 2.0, 1.0, 5.0, 5.0);  // amount: large effect
  auto b = tree::leaf_only(0.0, 10.0);
  b.expand(0, 3, 12.0, false, 0.3, -0.4, 1.0, 5.0, 5.0);  // hour: small effect
  auto c = tree::leaf_only(0.0, 10.0);
  c.expand(0, 1, 30.0, false, -0.2, 0.2, 1.0, 5.0, 5.0);  // age: smaller effect
  const tree_ensemble named(p, {a, b, c});
  const tree_explainer shap(named);
  const std::vector<float> row = {250.0F, 45.0F, 3.0F, 2.0F};
  std::vector<double> phi(shap.output_size());
  shap.contributions(row, phi);
  const auto reasons = shap.top_reasons(row, 2);
  REQUIRE(reasons.size() == 2);
  CHECK(reasons[0].feature == "amount");
  CHECK(reasons[0].index == 0);
  CHECK(reasons[0].contribution == phi[0]);
  CHECK(reasons[0].contribution > 0.9);
  CHECK(reasons[0].value == 250.0F);
  CHECK(reasons[1].feature == "hour");
  CHECK(reasons[1].contribution == phi[3]);
  // country never splits: it is not a reason even when k asks for every feature.
  const auto all = shap.top_reasons(row, 10);
  REQUIRE(all.size() == 3);
  CHECK(all[2].feature == "age");
  CHECK(std::abs(all[1].contribution) >= std::abs(all[2].contribution));

  p.feature_names.clear();
  const tree_ensemble unnamed(p, {a, b, c});
  const tree_explainer shap2(unnamed);
  CHECK(shap2.top_reasons(row, 1)[0].feature == "f0");
  CHECK_THROWS_AS(shap2.top_reasons(std::vector<float>(3, 0.0F), 1), funnel::dimension_mismatch);
  CHECK_THROWS_AS(shap2.top_reasons(row, 1, 1), funnel::invalid_argument);
}
