// neural_scorer and multi_head_scorer: the serving contract (width checks, margin vs
// probability, the scale a pipeline reads) and the weighted combination of a DCN-v2's heads, on
// the committed PyTorch fixtures.

#include <funnel/core/error.hpp>
#include <funnel/onnx/neural_scorer.hpp>
#include <funnel/pipeline/stages.hpp>

#include <cmath>

#include "funnel_catch.hpp"
#include "onnx/onnx_fixture.hpp"

namespace {

using funnel::test::message_of;

using funnel::matrix_view;
using funnel::score_scale;
using funnel::scoring::multi_head_options;
using funnel::scoring::multi_head_scorer;
using funnel::scoring::neural_scorer;
using funnel::test::onnx_fixture;

static_assert(funnel::pipeline::ScoringStage<neural_scorer>);
static_assert(funnel::pipeline::ScoringStage<multi_head_scorer>);

float sigmoid(float z) {
  return 1.0f / (1.0f + std::exp(-z));
}

const char* dcn_heads_json = R"({
  "type": "funnel.scoring.multi_head_scorer", "version": 1,
  "heads": [{"name": "bad", "scale": "log_odds", "weight": -2.0},
            {"name": "rate", "scale": "raw", "weight": 0.25},
            {"name": "long_term", "scale": "log_odds", "weight": 0.5}],
  "feature_names": ["funded_amnt", "annual_inc", "revol_util", "inq_last_6mths", "all_util",
                    "num_il_tl"]})";

}  // namespace

TEST_CASE("neural_scorer: score is the output's logit, predict its sigmoid, rows width-checked") {
  const onnx_fixture f("mlp_lending");
  const neural_scorer s(f.model, {.output = "logit", .scale = score_scale::log_odds});
  CHECK(s.num_features() == 6);
  CHECK(s.scale() == score_scale::log_odds);
  CHECK(s.output() == "logit");
  const matrix_view X(f.float_inputs[0], f.rows, 6);
  std::vector<float> margins(f.rows), probs(f.rows);
  s.score_batch(X, margins);
  s.predict_batch(X, probs);
  for (std::size_t r = 0; r < f.rows; ++r) {
    CHECK_THAT(margins[r], WithinRel(f.expected[0][r], 1e-5f));
    // One row runs Eigen's matrix-vector product, a batch its matrix-matrix product: they sum
    // in different orders, so they agree to float rounding, not bit for bit.
    CHECK_THAT(s.score(X.row(r)), WithinRel(margins[r], 1e-6f));
    CHECK_THAT(probs[r], WithinRel(sigmoid(f.expected[0][r]), 1e-5f));
    CHECK_THAT(s.predict(X.row(r)), WithinRel(probs[r], 1e-6f));
  }
  // Every other row, through a stride: the rows are gathered, the values are the same.
  const matrix_view odd(f.float_inputs[0].data() + 6, f.rows / 2, 6, 12);
  std::vector<float> odd_out(f.rows / 2);
  s.score_batch(odd, odd_out);
  for (std::size_t r = 0; r < odd_out.size(); ++r) {
    CHECK_THAT(odd_out[r],
               WithinRel(margins[2 * r + 1], 1e-5f) || WithinAbs(margins[2 * r + 1], 1e-6));
  }
  const std::vector<float> narrow(5, 1.0f);
  CHECK_THAT(message_of([&] { (void)s.score(narrow); }),
             ContainsSubstring("[funnel.dimension_mismatch.scoring.neural_scorer] rows of 5 "
                               "features, the model takes 6"));
  std::vector<float> too_few(f.rows - 1);
  CHECK_THROWS_AS(s.score_batch(X, too_few), funnel::dimension_mismatch);
}

TEST_CASE("neural_scorer: a pipeline stage reads its scale, width and names") {
  const onnx_fixture f("mlp_lending");
  const std::vector<std::string> names{"a", "b", "c", "d", "e", "f"};
  const funnel::pipeline::any_scoring_stage stage(
      neural_scorer(f.model, {.scale = score_scale::log_odds, .feature_names = names}));
  CHECK(stage.declared_scale() == score_scale::log_odds);
  CHECK(stage.declared_num_features() == 6u);
  CHECK_THROWS_AS(neural_scorer(f.model, {.feature_names = {"a"}}), funnel::dimension_mismatch);
}

TEST_CASE("neural_scorer: models that are not one row in, one value out are refused") {
  const onnx_fixture towers("user_tower");
  CHECK_THAT(message_of([&] { (void)neural_scorer(towers.model); }),
             ContainsSubstring("[funnel.unsupported.scoring.neural_scorer] a scorer's model takes "
                               "one float32 input"));
  const onnx_fixture dcn("dcn_ranker");
  CHECK_THAT(message_of([&] { (void)neural_scorer(dcn.model, {.output = "click"}); }),
             ContainsSubstring("[funnel.not_found.scoring.neural_scorer] no output 'click' (the "
                               "model has 'bad', 'rate', 'long_term')"));
  CHECK_THROWS_AS(neural_scorer(dcn.model, {.scale = score_scale::multiclass_logits}),
                  funnel::invalid_argument);
  const neural_scorer rate(dcn.model, {.output = "rate"});
  const matrix_view X(dcn.float_inputs[0], dcn.rows, 6);
  std::vector<float> out(dcn.rows);
  rate.score_batch(X, out);
  for (std::size_t r = 0; r < dcn.rows; ++r) {
    CHECK_THAT(out[r], WithinRel(dcn.expected[1][r], 1e-5f) || WithinAbs(dcn.expected[1][r], 1e-6));
  }
}

TEST_CASE("multi_head_scorer: heads combined by JSON weights or per request, each head traced") {
  const onnx_fixture f("dcn_ranker");
  const auto options =
      multi_head_options::from_json(funnel::parse_json(dcn_heads_json, "dcn_heads"));
  CHECK(multi_head_options::from_json(options.to_json()) == options);
  const multi_head_scorer s(f.model, options);
  CHECK(s.scale() == score_scale::raw);
  CHECK(s.feature_names().size() == 6);
  const matrix_view X(f.float_inputs[0], f.rows, 6);
  auto want = [&](std::size_t r, float wb, float wr, float wl) {
    return wb * sigmoid(f.expected[0][r]) + wr * f.expected[1][r] + wl * sigmoid(f.expected[2][r]);
  };
  std::vector<float> out(f.rows);
  s.score_batch(X, out);
  for (std::size_t r = 0; r < f.rows; ++r) {
    CHECK_THAT(out[r], WithinAbs(want(r, -2.0f, 0.25f, 0.5f), 1e-5));
  }
  const std::vector<float> request_weights{0.0f, 1.0f, -1.0f};
  funnel::scoring::multi_head_trace trace;
  s.score_batch(X, out, request_weights, &trace);
  REQUIRE(trace.values.size() == f.rows * 3);
  CHECK(trace.heads == std::vector<std::string>{"bad", "rate", "long_term"});
  CHECK(trace.weights == request_weights);
  for (std::size_t r = 0; r < f.rows; ++r) {
    CHECK_THAT(out[r], WithinAbs(want(r, 0.0f, 1.0f, -1.0f), 1e-5));
    CHECK_THAT(trace.values[r * 3 + 0], WithinAbs(sigmoid(f.expected[0][r]), 1e-6));
    CHECK_THAT(trace.values[r * 3 + 1], WithinAbs(f.expected[1][r], 1e-5));
  }
  const auto j = funnel::scoring::to_json(trace);
  CHECK(j.at("values").size() == f.rows);
  CHECK(j.at("values")[0].size() == 3);
  CHECK(s.score(X.row(0)) == Approx(want(0, -2.0f, 0.25f, 0.5f)).margin(1e-5));
}

TEST_CASE("multi_head_scorer: unknown heads, duplicates and bad weights are refused") {
  const onnx_fixture f("dcn_ranker");
  auto options = multi_head_options::from_json(funnel::parse_json(dcn_heads_json, "dcn_heads"));
  auto unknown = options;
  unknown.heads[1].name = "watch_time";
  CHECK_THAT(message_of([&] { (void)multi_head_scorer(f.model, unknown); }),
             ContainsSubstring("[funnel.not_found.scoring.multi_head_scorer] no output "
                               "'watch_time'"));
  auto twice = options;
  twice.heads[2].name = "bad";
  CHECK_THROWS_AS(multi_head_scorer(f.model, twice), funnel::invalid_argument);
  CHECK_THROWS_AS(multi_head_scorer(f.model, {}), funnel::invalid_argument);
  const multi_head_scorer s(f.model, options);
  const matrix_view X(f.float_inputs[0], f.rows, 6);
  std::vector<float> out(f.rows);
  const std::vector<float> two{1.0f, 2.0f};
  CHECK_THROWS_AS(s.score_batch(X, out, two), funnel::dimension_mismatch);
  const std::vector<float> nan{1.0f, std::nanf(""), 0.0f};
  CHECK_THROWS_AS(s.score_batch(X, out, nan), funnel::invalid_argument);
  auto bad_json = funnel::parse_json(dcn_heads_json, "dcn_heads");
  bad_json["heads"][0]["scale"] = "probability";
  CHECK_THAT(message_of([&] { (void)multi_head_options::from_json(bad_json); }),
             ContainsSubstring("[funnel.parse_error.scoring.multi_head_scorer]"));
}
