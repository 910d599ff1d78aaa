// docs/training.md opening example: train a GBDT on lending_club with early stopping, explain it,
// save it, export it to XGBoost JSON.
#include <funnel/core.hpp>
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <cstdio>
#include <map>

int main() {
  const auto t = funnel::read_csv("tests/data/lending_club.csv");
  const std::vector<std::string> numeric{
      "funded_amnt", "int_rate",    "annual_inc",   "delinq_2yrs", "inq_last_6mths",
      "revol_util",  "open_il_12m", "total_bal_il", "all_util",    "inq_last_12m"};
  funnel::matrix x(t.rows(), numeric.size());
  for (std::size_t c = 0; c < numeric.size(); ++c) {
    const auto v = t.numeric(numeric[c]);  // NA -> NaN: the trees learn where missing values go
    for (std::size_t i = 0; i < t.rows(); ++i) x(i, c) = static_cast<float>(v[i]);
  }
  std::vector<float> y(t.rows());
  const auto cls = t.strings("Class");
  for (std::size_t i = 0; i < t.rows(); ++i) y[i] = cls[i] == "bad" ? 1.0F : 0.0F;

  // Rows 0..7999 train, the rest validate (early stopping on validation AUC).
  const funnel::matrix_view all = x;
  const funnel::scoring::gbdt_data train{all.middle_rows(0, 8000), std::span(y).first(8000)};
  const funnel::scoring::gbdt_data valid{all.middle_rows(8000, t.rows() - 8000),
                                         std::span(y).subspan(8000)};

  funnel::scoring::gbdt_options o;
  o.objective = funnel::scoring::gbdt_objective::binary_logistic;
  o.rounds = 300;
  o.learning_rate = 0.05;
  o.max_depth = 4;
  o.scale_pos_weight = 5.0;  // 5% positives
  o.early_stopping_rounds = 30;
  o.on_progress = funnel::scoring::console_progress(50);
  const auto metric = funnel::scoring::eval_metric::auc();
  const auto result = funnel::scoring::fit_gbdt(train, o, &valid, &metric);

  std::printf("kept %zu rounds, validation AUC %.4f\n", result.best_iteration,
              result.valid_history[result.best_iteration - 1]);
  const auto gain = result.model.importance(funnel::scoring::importance_type::total_gain);
  for (std::size_t f = 0; f < numeric.size(); ++f)
    std::printf("  %-16s total gain %10.2f\n", numeric[f].c_str(), gain[f]);

  result.model.save("/tmp/funnel-doc-gbdt.json");  // funnel JSON
  funnel::scoring::save_xgboost_json(result.model,
                                     "/tmp/funnel-doc-gbdt.xgb.json");  // XGBoost loads this
  return result.best_iteration > 0 ? 0 : 1;
}
