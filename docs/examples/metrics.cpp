// docs/metrics.md opening example: evaluate a credit-risk score the way scikit-learn would.
#include <funnel/core/csv.hpp>
#include <funnel/metrics.hpp>

#include <cstdio>
#include <vector>

int main() {
  namespace m = funnel::metrics;
  // y = 1 for a bad loan, prob = a model's probability of "bad" (tests/fixtures/metrics).
  const auto t = funnel::read_csv("tests/data/metrics/lending_scores.csv");
  const auto y_col = t.numeric("y");
  const auto prob_col = t.numeric("prob");
  const std::vector<float> y(y_col.begin(), y_col.end());           // labels: 0/1 floats
  const std::vector<float> prob(prob_col.begin(), prob_col.end());  // scores: floats

  std::printf("roc_auc=%.6f average_precision=%.6f log_loss=%.6f brier=%.6f\n", m::roc_auc(y, prob),
              m::average_precision(y, prob), m::log_loss(y, prob), m::brier_score(y, prob));

  // A missed bad loan costs 5x a wrongly declined good one: pick the threshold accordingly.
  const auto best = m::best_threshold(y, prob, /*cost_fp=*/1.0, /*cost_fn=*/5.0);
  std::printf("threshold=%.4f precision=%.4f recall=%.4f\n", best.threshold,
              best.counts.precision(), best.counts.recall());

  // Calibration: reliability bins, ECE, and an isotonic recalibration.
  std::printf("ece(10 bins)=%.5f\n", m::expected_calibration_error(y, prob, 10));
  m::isotonic_calibrator iso;
  iso.fit(y, prob);
  std::printf("isotonic(0.3)=%.4f\n", iso.predict(0.3));

  // Ranking: two queries of three documents (LightGBM "group" layout), NDCG@2 both gains.
  const std::vector<float> rel{3, 0, 1, 0, 2, 2};
  const std::vector<float> score{0.9F, 0.8F, 0.1F, 0.2F, 0.7F, 0.7F};
  const std::vector<std::size_t> groups{3, 3};
  m::ndcg_options lightgbm{m::ndcg_gain::exponential, 1.0};
  const auto sk = m::evaluate_ranking(m::ranking_metric::ndcg, rel, score, groups, 2);
  const auto lg = m::evaluate_ranking(m::ranking_metric::ndcg, rel, score, groups, 2, lightgbm);
  std::printf("ndcg@2 sklearn=%.4f lightgbm=%.4f\n", sk.mean, lg.mean);
  return sk.per_query.size() == 2 ? 0 : 1;
}
