#include <funnel/scoring/lightgbm.hpp>
#include <funnel/scoring/treeshap.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <string>
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
  CHECK_THROWS_AS(tree_explainer(load_lightgbm(data("trees/lightgbm/linear_tree/model.txt"))),
                  funnel::unsupported);
  const auto m = load_xgboost(data("trees/xgb/credit_logistic.json"));
  const tree_explainer shap(m);
  std::vector<float> row(m.num_features() - 1, 0.0F);
  std::vector<float> phi(shap.output_size());
  CHECK_THROWS_AS(shap.contributions(row, phi), funnel::dimension_mismatch);
}
