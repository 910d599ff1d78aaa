// Serves, in C++, the lending-risk model trained in Python (docs/python.md): the feature pipeline
// fitted with funnel's Python module and the XGBoost model trained on its matrix
// (python/examples/fraud_train.py). Per loan: one reusable request row, one output buffer.
//
//   example_fraud_serve_python <features.json> <model.json> <loans.csv> [first_row]
//
// prints, for every row from first_row on, the model's margin and probability as C hex floats
// (exact), which python/tests/test_fraud_workflow.py compares with XGBoost's own scores.
#include <funnel/core/contract.hpp>
#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/features/pipeline.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace ff = funnel::features;

int main(int argc, char** argv) try {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s features.json model.json loans.csv [first_row]\n", argv[0]);
    return 2;
  }
  const auto features = ff::any_pipeline::load(argv[1]);
  const auto model = funnel::scoring::load_xgboost(argv[2]);
  // The contract: the model's inputs are the pipeline's outputs, by name and position.
  funnel::check_feature_binding(features.output_names(), model.feature_names(),
                                model.num_features(), "app.fraud_serve");

  const auto loans = funnel::read_csv(argv[3]);
  const ff::schema& schema = features.get_schema();
  std::vector<std::size_t> source(schema.size());
  std::vector<std::vector<double>> numbers(schema.size());
  for (std::size_t c = 0; c < schema.size(); ++c) {
    source[c] = loans.column_index(schema[c].name);
    if (schema[c].type == ff::column_type::numeric) numbers[c] = loans.numeric(source[c]);
  }

  ff::row request(schema);  // once per thread, reused by every request
  std::vector<float> x(features.width());
  const std::size_t first = argc > 4 ? std::stoul(argv[4]) : 0;
  for (std::size_t r = first; r < loans.rows(); ++r) {
    request.clear();
    for (std::size_t c = 0; c < schema.size(); ++c) {
      if (schema[c].type == ff::column_type::numeric) {
        request.set(c, static_cast<float>(numbers[c][r]));
      } else if (loans.is_missing(r, source[c])) {
        request.set_missing(c);
      } else {
        request.set(c, loans.cell(r, source[c]));
      }
    }
    features.transform(request, x, r);
    std::printf("%a %a\n", static_cast<double>(model.score(x)),
                static_cast<double>(model.predict(x)));
  }
  return 0;
} catch (const funnel::error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
