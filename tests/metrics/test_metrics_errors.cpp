#include <funnel/metrics.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <vector>

#include "funnel_catch.hpp"

namespace m = funnel::metrics;

TEST_CASE("metrics: mismatched lengths throw dimension_mismatch naming the argument") {
  const std::vector<float> y{0, 1, 1};
  const std::vector<float> s{0.1F, 0.2F};
  CHECK_THROWS_AS(m::roc_auc(y, s), funnel::dimension_mismatch);
  CHECK_THROWS_WITH(m::log_loss(y, s), ContainsSubstring("y_prob has 2 values"));
  const std::vector<float> s3{0.1F, 0.2F, 0.3F};
  CHECK_THROWS_WITH(m::roc_auc(y, s3, std::vector<double>{1.0}),
                    ContainsSubstring("sample_weight has 1 values"));
}

TEST_CASE("metrics: a single class makes AUC and log loss throw; AP needs a positive") {
  const std::vector<float> ones{1, 1};
  const std::vector<float> zeros{0, 0};
  const std::vector<float> s{0.2F, 0.7F};
  CHECK_THROWS_WITH(m::roc_auc(ones, s), ContainsSubstring("only one class"));
  CHECK_THROWS_WITH(m::log_loss(zeros, s), ContainsSubstring("only one label"));
  CHECK_THROWS_AS(m::average_precision(zeros, s), funnel::invalid_argument);
  CHECK(m::average_precision(ones, s) == 1.0);
}

TEST_CASE("metrics: NaN scores, non-binary labels and negative weights are invalid_argument") {
  const std::vector<float> y{0, 1};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(m::roc_auc(y, std::vector<float>{0.1F, nan}), ContainsSubstring("y_score[1]"));
  CHECK_THROWS_WITH(m::roc_auc(std::vector<float>{0, 2}, std::vector<float>{0.1F, 0.2F}),
                    ContainsSubstring("y_true[1] = 2"));
  CHECK_THROWS_WITH(m::roc_auc(std::vector<float>{0, 0.5F}, std::vector<float>{0.1F, 0.2F}),
                    ContainsSubstring("y_true[1] = 0.5 is not a binary label"));
  CHECK_THROWS_WITH(m::log_loss(std::vector<float>{nan, 1}, std::vector<float>{0.1F, 0.2F}),
                    ContainsSubstring("y_true[0]"));
  CHECK_THROWS_WITH(m::brier_score(y, std::vector<float>{0.1F, 0.2F}, std::vector<double>{1, -1}),
                    ContainsSubstring("sample_weight[1]"));
  CHECK_THROWS_WITH(m::calibration_curve(y, std::vector<float>{0.1F, 1.2F}),
                    ContainsSubstring("outside [0, 1]"));
  CHECK_THROWS_AS(m::best_threshold(y, std::vector<float>{0.1F, 0.2F}, -1, 1),
                  funnel::invalid_argument);
}

TEST_CASE("metrics: AUC counts tied scores as half") {
  // one positive and one negative with the same score: AUC 0.5
  CHECK(m::roc_auc(std::vector<float>{0, 1}, std::vector<float>{0.4F, 0.4F}) == 0.5);
  CHECK(m::roc_auc(std::vector<float>{0, 1, 0, 1}, std::vector<float>{0.1F, 0.4F, 0.4F, 0.9F}) ==
        0.875);
}

TEST_CASE("metrics: cost threshold prefers predicting nothing when false positives are expensive") {
  const std::vector<float> y{0, 0, 1};
  const std::vector<float> s{0.9F, 0.8F, 0.1F};
  const auto b = m::best_threshold(y, s, 10, 1);
  CHECK(std::isinf(b.threshold));
  CHECK(b.cost == 1);
  const auto c = m::best_threshold(y, s, 1, 10);
  CHECK(c.threshold == 0.1F);
  CHECK(c.cost == 2);
}

TEST_CASE("metrics: calibrators reject bad JSON naming the field") {
  funnel::json j = funnel::json_header("isotonic_calibrator", 1);
  j["x"] = std::vector<double>{0, 1};
  j["y"] = std::vector<double>{0};
  CHECK_THROWS_AS(m::isotonic_calibrator::from_json(j), funnel::parse_error);
  j["y"] = std::vector<double>{0, 1};
  j["x"] = std::vector<double>{1, 0};
  CHECK_THROWS_WITH(m::isotonic_calibrator::from_json(j), ContainsSubstring("x[1]"));
  funnel::json p = funnel::json_header("platt_calibrator", 1);
  p["a"] = "x";
  CHECK_THROWS_WITH(m::platt_calibrator::from_json(p), ContainsSubstring("a"));
}

TEST_CASE("metrics: calibrators save and load atomically; hostile files are parse_errors") {
  const auto dir = funnel::test::scratch_dir("calibrators");
  const std::vector<float> y{0, 0, 1, 1, 0, 1};
  const std::vector<float> s{0.1F, 0.3F, 0.7F, 0.9F, 0.4F, 0.6F};
  m::platt_calibrator p;
  p.fit(y, s);
  p.save(dir / "p.json");
  const auto pb = m::platt_calibrator::load(dir / "p.json");
  CHECK(pb.a() == p.a());
  CHECK(pb.b() == p.b());
  m::isotonic_calibrator iso;
  iso.fit(y, s);
  iso.save(dir / "i.json");
  CHECK(m::isotonic_calibrator::load(dir / "i.json").x_thresholds() == iso.x_thresholds());
  const char* bad_platt[] = {
      R"({"type": "platt_calibrator", "version": 1, "a": 1e999, "b": 0})",
      R"({"type": "platt_calibrator", "version": 1, "a": true, "b": 0})",
      R"({"type": "platt_calibrator", "version": 1, "a": [1], "b": 0})",
  };
  for (const char* text : bad_platt) {
    std::ofstream(dir / "bad.json") << text;
    CHECK_THROWS_AS(m::platt_calibrator::load(dir / "bad.json"), funnel::parse_error);
  }
  const char* bad_iso[] = {
      R"({"type": "isotonic_calibrator", "version": 1, "x": [0, 1e999], "y": [0, 1]})",
      R"({"type": "isotonic_calibrator", "version": 1, "x": [0, 1], "y": [false, 1]})",
      R"({"type": "isotonic_calibrator", "version": 1, "x": "01", "y": [0, 1]})",
  };
  for (const char* text : bad_iso) {
    std::ofstream(dir / "bad.json") << text;
    CHECK_THROWS_AS(m::isotonic_calibrator::load(dir / "bad.json"), funnel::parse_error);
  }
}

TEST_CASE("calibrators: a bad field in a saved calibrator is reported under the calibrator's id") {
  auto j = m::platt_calibrator{}.to_json();
  j["a"] = "one";
  CHECK_THROWS_WITH(
      m::platt_calibrator::from_json(j),
      ContainsSubstring(
          "[funnel.parse_error.metrics.platt_calibrator] platt_calibrator.a: wrong type"));
  auto k = m::isotonic_calibrator{}.to_json();
  k.erase("y");
  CHECK_THROWS_WITH(m::isotonic_calibrator::from_json(k),
                    ContainsSubstring("[funnel.parse_error.metrics.isotonic_calibrator]") &&
                        ContainsSubstring("missing field 'y'"));
}
