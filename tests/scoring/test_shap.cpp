#include <funnel/scoring/lightgbm.hpp>
#include <funnel/scoring/treeshap.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <algorithm>
#include <cmath>
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

TEST_CASE("treeshap: LightGBM contributions add up to the margin") {
  const auto m = load_lightgbm(data("trees/lightgbm/binary_missing/model.txt"));
  const tree_explainer shap(m);
  std::vector<float> row(m.num_features(), 0.5F);
  row[3] = NAN;
  std::vector<double> phi(shap.output_size());
  shap.contributions(row, phi);
  double s = 0;
  for (const auto v : phi) s += v;
  std::vector<double> drow(row.begin(), row.end());
  double margin = 0;
  m.margins(std::span<const double>(drow), std::span<double>(&margin, 1));
  CHECK_THAT(s, WithinAbs(margin, 1e-9));
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
