// Serving a model trained in Python with XGBoost or LightGBM.
//
//   # Python, XGBoost (any of 1.7 / 2.x / 3.x):
//   booster = xgb.train(params, dtrain, 100)
//   booster.save_model("model.json")          # or "model.ubj"
//   # Python, LightGBM:
//   gbm = lgb.train(params, train_set, 100)
//   gbm.save_model("model.txt")
#include <funnel/scoring/lightgbm.hpp>
#include <funnel/scoring/treeshap.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  namespace fs = funnel::scoring;

  // XGBoost: margins bit-identical to Booster.predict(..., output_margin=True).
  const auto xgb = fs::load_xgboost("tests/data/trees/xgb/credit_logistic.json");
  // One applicant, 13 features in training order; NaN = missing (follows default_left).
  const std::vector<float> row = {9, 1, 60, 30, 1, 0, 0, 73, 129, 0, 0, 800, 846};
  const float margin = xgb.score(row);         // checked: row.size() must equal num_features()
  const float probability = xgb.predict(row);  // sigmoid for binary:logistic
  // After checking the width once per request: score_unchecked / predict_unchecked (noexcept).
  const bool same =
      xgb.score_unchecked(row) == margin && xgb.scale() == funnel::score_scale::log_odds;
  std::printf("xgboost: margin %.6f probability %.6f\n", margin, probability);

  // Why: exact TreeSHAP, one value per feature plus the bias; they sum to the margin.
  const fs::tree_explainer shap(xgb);
  std::vector<float> phi(shap.output_size());
  shap.contributions(row, phi);
  float total = 0;
  for (const float v : phi) total += v;
  std::printf("shap: bias %.6f, sum %.6f\n", phi.back(), total);
  // The reasons for this score: the 3 largest contributions, named by the model's feature names
  // ("f<i>" when it carries none, as this model, trained from a numpy array).
  for (const auto& r : shap.top_reasons(row, 3)) {
    std::printf("  %s = %g: %+.4f\n", r.feature.c_str(), static_cast<double>(r.value),
                r.contribution);
  }

  // Batches: rows x features, row-major; 16 rows walk each tree together.
  std::vector<float> batch;
  for (int i = 0; i < 4; ++i) batch.insert(batch.end(), row.begin(), row.end());
  std::vector<float> out(4);
  xgb.predict_batch(funnel::matrix_view(batch.data(), 4, row.size()), out);

  // LightGBM: margins equal LightGBM's raw scores (double rows keep LightGBM's double inputs).
  const auto lgb = fs::load_lightgbm("tests/data/trees/lightgbm/binary/model.txt");
  std::vector<double> x(lgb.num_features(), 0.5);
  double raw = 0;
  lgb.margins(std::span<const double>(x), std::span<double>(&raw, 1));
  std::printf("lightgbm: raw %.17g\n", raw);

  // funnel's own JSON round-trips the ensemble bit for bit.
  const auto copy = fs::tree_ensemble::from_json(xgb.to_json());
  const bool ok = same && copy == xgb && std::abs(total - margin) < 1e-4F && out[0] == probability;
  return ok ? 0 : 1;
}
