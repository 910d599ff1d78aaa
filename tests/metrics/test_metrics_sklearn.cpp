// funnel::metrics against scikit-learn 1.2 on lending_club (fixtures from
// tests/fixtures/metrics/make_metrics.py).
#include <funnel/core/csv.hpp>
#include <funnel/core/json.hpp>
#include <funnel/metrics.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

namespace m = funnel::metrics;

namespace {

// Labels and scores are floats (funnel's label and score type); sklearn computed the figures on
// the doubles of the CSV, so a figure that depends on score values (not only on their order) may
// differ by the float rounding of the scores (relative 2^-24 ~ 6e-8): `tol_float` below.
struct lending {
  std::vector<float> y, score, prob, tied, reg_y, reg_pred;
  std::vector<double> weight;
  funnel::json expected;
};

std::vector<float> to_float(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

const lending& data() {
  static const lending d = [] {
    lending l;
    const auto t = funnel::read_csv(funnel::test::data("metrics/lending_scores.csv"));
    l.y = to_float(t.numeric("y"));
    l.score = to_float(t.numeric("score"));
    l.prob = to_float(t.numeric("prob"));
    l.tied = to_float(t.numeric("tied"));
    l.weight = t.numeric("weight");
    l.reg_y = to_float(t.numeric("reg_y"));
    l.reg_pred = to_float(t.numeric("reg_pred"));
    l.expected = funnel::load_json_file(funnel::test::data("metrics/expected.json"));
    return l;
  }();
  return d;
}

double expect(const std::string& key) {
  return data().expected.at(key).get<double>();
}

constexpr double tol = 1e-12;
// A mean of float probabilities moves by at most their relative rounding, 2^-24, and a log loss
// or a Brier score by at most twice that: the bound for figures computed from float scores.
constexpr double tol_float = 0x1p-23;

// The isotonic map interpolates between thresholds that are float-rounded scores (relative
// 2^-24 each); a prediction moves by at most the local slope times the two thresholds' rounding.
double float_shift(const m::isotonic_calibrator& iso, double x) {
  const auto& xs = iso.x_thresholds();
  const auto& ys = iso.y_thresholds();
  if (xs.size() < 2 || x <= xs.front() || x >= xs.back()) return 0.0;
  const auto hi = static_cast<std::size_t>(std::lower_bound(xs.begin(), xs.end(), x) - xs.begin());
  const std::size_t lo = hi - 1;
  const double slope = std::abs((ys[hi] - ys[lo]) / (xs[hi] - xs[lo]));
  return slope * 0x1p-24 * (std::abs(xs[lo]) + std::abs(xs[hi]));
}

}  // namespace

TEST_CASE(
    "metrics: ROC-AUC and average precision equal sklearn, with and without ties and weights") {
  const auto& d = data();
  REQUIRE(d.y.size() == 9857);
  for (const auto* name : {"score", "tied"}) {
    const auto& s = std::string(name) == "score" ? d.score : d.tied;
    CHECK_THAT(m::roc_auc(d.y, s),
               WithinAbs(expect(fmt::format("roc_auc.{}.unweighted", name)), tol));
    CHECK_THAT(m::roc_auc(d.y, s, d.weight),
               WithinAbs(expect(fmt::format("roc_auc.{}.weighted", name)), tol));
    CHECK_THAT(m::average_precision(d.y, s),
               WithinAbs(expect(fmt::format("average_precision.{}.unweighted", name)), tol));
    CHECK_THAT(m::average_precision(d.y, s, d.weight),
               WithinAbs(expect(fmt::format("average_precision.{}.weighted", name)), tol));
  }
}

TEST_CASE("metrics: log loss and Brier equal sklearn, including clipping of certain predictions") {
  const auto& d = data();
  CHECK_THAT(m::log_loss(d.y, d.prob), WithinAbs(expect("log_loss.unweighted"), tol_float));
  CHECK_THAT(m::log_loss(d.y, d.prob, d.weight), WithinAbs(expect("log_loss.weighted"), tol_float));
  CHECK_THAT(m::brier_score(d.y, d.prob), WithinAbs(expect("brier.unweighted"), tol_float));
  CHECK_THAT(m::brier_score(d.y, d.prob, d.weight), WithinAbs(expect("brier.weighted"), tol_float));
  auto extreme = d.prob;
  for (std::size_t i = 0; i < 50; ++i) extreme[i] = d.y[i];
  for (std::size_t i = 50; i < 100; ++i) extreme[i] = 1.0F - d.y[i];
  CHECK_THAT(m::log_loss(d.y, extreme), WithinAbs(expect("log_loss.extreme"), tol_float));
}

TEST_CASE(
    "metrics: confusion matrix, accuracy, precision, recall, F1 at a threshold equal sklearn") {
  const auto& d = data();
  const double t = expect("threshold");
  for (const bool weighted : {false, true}) {
    const std::string w = weighted ? "weighted" : "unweighted";
    const auto c = m::confusion_at(d.y, d.prob, t, weighted ? m::weights(d.weight) : m::weights{});
    const auto e = d.expected.at("confusion." + w).get<std::vector<double>>();
    CHECK_THAT(c.tn, WithinAbs(e[0], 1e-9));
    CHECK_THAT(c.fp, WithinAbs(e[1], 1e-9));
    CHECK_THAT(c.fn, WithinAbs(e[2], 1e-9));
    CHECK_THAT(c.tp, WithinAbs(e[3], 1e-9));
    CHECK_THAT(c.accuracy(), WithinAbs(expect("accuracy." + w), tol));
    CHECK_THAT(c.precision(), WithinAbs(expect("precision." + w), tol));
    CHECK_THAT(c.recall(), WithinAbs(expect("recall." + w), tol));
    CHECK_THAT(c.f1(), WithinAbs(expect("f1." + w), tol));
  }
}

TEST_CASE("metrics: cost-based threshold equals a brute-force search over every threshold") {
  const auto& d = data();
  for (const auto& [cfp, cfn] : {std::pair{1.0, 5.0}, std::pair{1.0, 1.0}, std::pair{3.0, 1.0}}) {
    const auto& e = d.expected.at(fmt::format("best_threshold.{:.1f}.{:.1f}", cfp, cfn));
    const double want_threshold =
        e[0].is_null() ? std::numeric_limits<double>::infinity() : e[0].get<double>();
    const double want_cost = e[1].get<double>();
    const auto b = m::best_threshold(d.y, d.tied, cfp, cfn, d.weight);
    CHECK(b.threshold == want_threshold);
    CHECK_THAT(b.cost, WithinRel(want_cost, 1e-12));
    CHECK_THAT(cfp * b.counts.fp + cfn * b.counts.fn, WithinRel(want_cost, 1e-12));
  }
}

TEST_CASE("metrics: RMSE, MAE and R2 of float targets equal sklearn on the same floats") {
  // The fixture's figures are sklearn's on the float-rounded values (make_metrics.py); they
  // differ from the figures on the CSV's doubles by ~1e-8, far above `tol`.
  const auto& d = data();
  CHECK_THAT(m::rmse(d.reg_y, d.reg_pred), WithinAbs(expect("rmse.unweighted"), tol));
  CHECK_THAT(m::rmse(d.reg_y, d.reg_pred, d.weight), WithinAbs(expect("rmse.weighted"), tol));
  CHECK_THAT(m::mae(d.reg_y, d.reg_pred), WithinAbs(expect("mae.unweighted"), tol));
  CHECK_THAT(m::mae(d.reg_y, d.reg_pred, d.weight), WithinAbs(expect("mae.weighted"), tol));
  CHECK_THAT(m::r2(d.reg_y, d.reg_pred), WithinAbs(expect("r2.unweighted"), tol));
  CHECK_THAT(m::r2(d.reg_y, d.reg_pred, d.weight), WithinAbs(expect("r2.weighted"), tol));
  const std::vector<float> c{2, 2, 2};
  CHECK(m::r2(c, c) == 1.0);
  CHECK(m::r2(c, std::vector<float>{2, 2, 3}) == 0.0);
}

TEST_CASE("metrics: reliability bins equal sklearn calibration_curve (uniform and quantile)") {
  const auto& d = data();
  for (const auto* strategy : {"uniform", "quantile"}) {
    for (const std::size_t nb : {5U, 10U}) {
      const auto& e = d.expected.at(fmt::format("calibration.{}.{}", strategy, nb));
      const auto r =
          m::calibration_curve(d.y, d.prob, nb,
                               std::string(strategy) == "uniform" ? m::bin_strategy::uniform
                                                                  : m::bin_strategy::quantile);
      const auto pt = e.at("prob_true").get<std::vector<double>>();
      const auto pp = e.at("prob_pred").get<std::vector<double>>();
      REQUIRE(r.prob_true.size() == pt.size());
      for (std::size_t b = 0; b < pt.size(); ++b) {
        CHECK_THAT(r.prob_true[b], WithinAbs(pt[b], tol));
        CHECK_THAT(r.prob_pred[b], WithinAbs(pp[b], tol_float));
      }
    }
  }
  CHECK_THAT(m::expected_calibration_error(d.y, d.prob, 10),
             WithinAbs(expect("ece.uniform.10"), tol_float));
}

TEST_CASE(
    "metrics: Platt scaling reaches sklearn's optimum (objective no worse, a and b within 1e-4)") {
  const auto& d = data();
  for (const bool weighted : {false, true}) {
    const auto w = weighted ? m::weights(d.weight) : m::weights{};
    const auto e =
        d.expected.at(weighted ? "platt.weighted" : "platt.unweighted").get<std::vector<double>>();
    m::platt_calibrator p;
    p.fit(d.y, d.score, w);
    const double ours = m::platt_calibrator::objective(d.y, d.score, w, p.a(), p.b());
    const double theirs = m::platt_calibrator::objective(d.y, d.score, w, e[0], e[1]);
    CHECK(ours <= theirs * (1 + 1e-12));
    CHECK_THAT(p.a(), WithinAbs(e[0], 1e-4));
    CHECK_THAT(p.b(), WithinAbs(e[1], 1e-4));
    const auto back = m::platt_calibrator::from_json(p.to_json());
    CHECK(back.predict(0.3) == p.predict(0.3));
  }
}

TEST_CASE("metrics: isotonic calibration predicts like sklearn IsotonicRegression") {
  const auto& d = data();
  for (const auto* name : {"score", "tied"}) {
    for (const bool weighted : {false, true}) {
      const auto& s = std::string(name) == "score" ? d.score : d.tied;
      const auto& e =
          d.expected.at(fmt::format("isotonic.{}.{}", name, weighted ? "weighted" : "unweighted"));
      m::isotonic_calibrator iso;
      iso.fit(d.y, s, weighted ? m::weights(d.weight) : m::weights{});
      CHECK(iso.x_thresholds().size() == e.at("n_thresholds").get<std::size_t>());
      const auto probe = e.at("probe").get<std::vector<double>>();
      const auto pred = e.at("pred").get<std::vector<double>>();
      for (std::size_t i = 0; i < probe.size(); ++i) {
        CHECK_THAT(iso.predict(probe[i]), WithinAbs(pred[i], tol + float_shift(iso, probe[i])));
      }
      const auto back = m::isotonic_calibrator::from_json(iso.to_json());
      CHECK(back.predict(probe[3]) == iso.predict(probe[3]));
    }
  }
}

TEST_CASE("metrics: NDCG per query equals sklearn ndcg_score (linear gain) and 2^rel-1 gain") {
  const auto& d = data();
  const auto& e = d.expected;
  const auto sizes = e.at("ranking.sizes").get<std::vector<std::size_t>>();
  const auto index = e.at("ranking.index").get<std::vector<std::size_t>>();
  std::vector<float> rel, score, tied;
  const auto& t = funnel::read_csv(funnel::test::data("lending_club.csv"));
  const auto grades = t.strings("sub_grade");
  for (const auto i : index) {
    const char g = grades[i][0];
    rel.push_back(g == 'A' ? 0.0F : (g == 'B' || g == 'C') ? 1.0F : g == 'D' ? 2.0F : 3.0F);
    score.push_back(d.score[i]);
    tied.push_back(d.tied[i]);
  }
  for (const auto* name : {"score", "tied"}) {
    const auto& s = std::string(name) == "score" ? score : tied;
    for (const std::size_t k : {0U, 5U, 10U}) {
      for (const auto* gain : {"linear", "exponential"}) {
        m::ndcg_options o;
        o.gain = std::string(gain) == "linear" ? m::ndcg_gain::linear : m::ndcg_gain::exponential;
        const auto r = m::evaluate_ranking(m::ranking_metric::ndcg, rel, s, sizes, k, o);
        const auto want =
            e.at(fmt::format("ndcg.{}.{}.{}", gain, name, k)).get<std::vector<double>>();
        REQUIRE(r.per_query.size() == want.size());
        for (std::size_t q = 0; q < want.size(); ++q)
          CHECK_THAT(r.per_query[q], WithinAbs(want[q], tol));
      }
    }
  }
  const auto ap = m::evaluate_ranking(m::ranking_metric::map, rel, score, sizes, 0);
  const auto want = e.at("map.score.all").get<std::vector<double>>();
  for (std::size_t q = 0; q < want.size(); ++q)
    CHECK_THAT(ap.per_query[q], WithinAbs(want[q], tol));
}
