// docs/neural.md opening example: a DCN-v2 ranker trained and exported by PyTorch, served by
// funnel::onnx: one head as a scorer, the three heads combined by weights, and the misuse table's
// errors, printed as a service would see them.
#include <funnel/core/error.hpp>
#include <funnel/onnx/neural_scorer.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace sc = funnel::scoring;

int serve() {
  // lending_club columns: funded_amnt, annual_inc, revol_util, inq_last_6mths, all_util, num_il_tl
  const std::vector<float> rows = {16100, 35000, 67.4F, 0, 48, 3,  //
                                   32000, 72000, 82.2F, 0, 77, 9};
  const funnel::matrix_view X(rows, 2, 6);

  const sc::onnx_model ranker = sc::load_onnx("tests/data/onnx/dcn_ranker.onnx");
  const sc::neural_scorer bad(ranker, {.output = "bad", .scale = funnel::score_scale::log_odds});
  std::printf("bad loan: logit %.4f, probability %.4f\n", bad.score(X.row(0)),
              bad.predict(X.row(0)));

  // The heads combined: -2 P(bad) + 0.25 rate + 0.5 P(long term), weights from JSON ...
  const auto heads = sc::multi_head_options::from_json(funnel::parse_json(R"({
      "type": "funnel.scoring.multi_head_scorer", "version": 1,
      "heads": [{"name": "bad", "scale": "log_odds", "weight": -2.0},
                {"name": "rate", "scale": "raw", "weight": 0.25},
                {"name": "long_term", "scale": "log_odds", "weight": 0.5}]})",
                                                                          "heads.json"));
  const sc::multi_head_scorer ranked(ranker, heads);
  std::vector<float> scores(X.rows());
  ranked.score_batch(X, scores);
  // ... or per request, with each head's value recorded
  const std::vector<float> weights = {-1.0F, 0.0F, 1.0F};
  sc::multi_head_trace trace;
  ranked.score_batch(X, scores, weights, &trace);
  std::printf("scores %.4f %.4f, trace %s\n", scores[0], scores[1], to_json(trace).dump().c_str());
  return 0;
}

void misuse() {
  auto show = [](const char* what, auto&& fn) {
    try {
      fn();
      std::printf("%s: no error\n", what);
    } catch (const funnel::error& e) {
      std::printf("%s: %s\n", what, e.what());
    }
  };
  const sc::onnx_model ranker = sc::load_onnx("tests/data/onnx/dcn_ranker.onnx");
  show("wrong input width", [&] {
    const std::vector<float> five(5, 1.0F);
    (void)sc::neural_scorer(ranker, {.output = "bad"}).score(five);
  });
  show("wrong dtype", [&] {
    const sc::onnx_model tower = sc::load_onnx("tests/data/onnx/user_tower.onnx");
    const std::vector<float> ids = {3.0F}, features(10, 0.0F);
    std::vector<float> embedding(16);
    const sc::onnx_input in[] = {std::span<const float>(ids), std::span<const float>(features)};
    const std::span<float> out[] = {embedding};
    tower.run(1, in, out);
  });
  show("unsupported operator", [] { (void)sc::load_onnx("tests/data/onnx/refused_gelu.onnx"); });
  show("truncated file", [] {
    std::ifstream in("tests/data/onnx/dcn_ranker.onnx", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream("dcn_truncated.onnx", std::ios::binary).write(bytes.data(), 1000);
    (void)sc::load_onnx("dcn_truncated.onnx");
  });
  std::remove("dcn_truncated.onnx");
}

int main() {
  misuse();
  return serve();
}
