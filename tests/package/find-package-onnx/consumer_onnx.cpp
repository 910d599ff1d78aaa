// A consumer of the installed funnel::onnx: loads a committed model and scores one row.
#include <funnel/onnx/neural_scorer.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  const funnel::scoring::neural_scorer s(funnel::scoring::load_onnx(FUNNEL_ONNX_MODEL),
                                         {.scale = funnel::score_scale::log_odds});
  const std::vector<float> row = {16100, 35000, 67.4F, 0, 48, 3};
  const float p = s.predict(row);
  std::printf("funnel::onnx consumer: P(bad) = %.4f\n", p);
  return std::isfinite(p) && p > 0.0F && p < 1.0F ? 0 : 1;
}
