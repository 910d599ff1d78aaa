// docs/scoring.md (logistic part) opening example: train with sklearn's objective, check the
// diagnostics, serve one row without allocation, save and reload.
#include <funnel/core/csv.hpp>
#include <funnel/metrics/classification.hpp>
#include <funnel/scoring/logistic.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main() {
  namespace sc = funnel::scoring;
  const auto t = funnel::read_csv("tests/data/lending_club.csv");
  const char* cols[] = {"int_rate", "annual_inc", "revol_util", "inq_last_6mths", "all_util"};
  funnel::matrix X(t.rows(), 5);
  for (std::size_t j = 0; j < 5; ++j) {
    const auto v = t.numeric(cols[j]);
    for (std::size_t i = 0; i < t.rows(); ++i) X(i, j) = static_cast<float>(v[i]);
  }
  std::vector<float> y;  // labels: 0/1 floats
  for (const auto& c : t.strings("Class")) y.push_back(c == "bad" ? 1.0F : 0.0F);

  sc::logistic_options opt;  // = LogisticRegression(C=1.0, penalty="l2"), tol 1e-4
  opt.balanced = true;       // class_weight="balanced": bad loans are rare
  // solver: automatic = Newton here (5 columns, L2): raw, unscaled columns need no tuning
  const auto fit = sc::fit_logistic(X, y, opt);
  std::printf("solver=%s converged=%d iterations=%d objective=%.6f |grad|=%.2e (%s)\n",
              std::string(to_string(fit.report.solver)).c_str(), fit.report.converged,
              fit.report.iterations, fit.report.objective, fit.report.gradient_norm,
              fit.report.message.c_str());

  const auto& model = fit.model;
  const float z = model.score(X.row(0));              // margin (log-odds); the width is checked
  const float p = model.predict(X.row(0));            // probability of class 1
  model.check_row(X.row(0));                          // validate once at the boundary ...
  const float q = model.predict_unchecked(X.row(0));  // ... then noexcept, no allocation
  std::vector<float> all(X.rows());
  model.predict_batch(X, all);
  std::printf("margin(row 0)=%.4f p(bad | row 0)=%.4f  train AUC=%.4f\n", static_cast<double>(z),
              static_cast<double>(p), funnel::metrics::roc_auc(y, all));

  model.save("/tmp/funnel-doc-logistic.json");
  const auto back = sc::logistic_model::load("/tmp/funnel-doc-logistic.json");
  return back == model && fit.report.converged && p == q ? 0 : 1;
}
