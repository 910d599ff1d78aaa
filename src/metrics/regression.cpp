#include <funnel/metrics/regression.hpp>

#include <cmath>

#include "metrics/check.hpp"

namespace funnel::metrics {
namespace {

void check(std::string_view where, labels t, values p, weights w) {
  detail::check_same_length(where, t.size(), p.size(), "y_pred");
  detail::check_nonempty(where, t.size());
  detail::check_finite(where, t, "y_true");
  detail::check_finite(where, p, "y_pred");
  detail::check_weights(where, w, t.size());
}

template <class F>
double weighted_mean(std::string_view where, std::size_t n, weights w, F f) {
  double s = 0;
  double ws = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double wi = detail::weight_at(w, i);
    s += wi * f(i);
    ws += wi;
  }
  if (ws <= 0) raise<invalid_argument>(where, "sample weights sum to zero");
  return s / ws;
}

}  // namespace

double rmse(labels y_true, values y_pred, weights sample_weight) {
  check("metrics.rmse", y_true, y_pred, sample_weight);
  return std::sqrt(weighted_mean("metrics.rmse", y_true.size(), sample_weight, [&](std::size_t i) {
    const double d = static_cast<double>(y_true[i]) - y_pred[i];
    return d * d;
  }));
}

double mae(labels y_true, values y_pred, weights sample_weight) {
  check("metrics.mae", y_true, y_pred, sample_weight);
  return weighted_mean("metrics.mae", y_true.size(), sample_weight, [&](std::size_t i) {
    return std::abs(static_cast<double>(y_true[i]) - y_pred[i]);
  });
}

double r2(labels y_true, values y_pred, weights sample_weight) {
  check("metrics.r2", y_true, y_pred, sample_weight);
  const double mean = weighted_mean("metrics.r2", y_true.size(), sample_weight,
                                    [&](std::size_t i) { return static_cast<double>(y_true[i]); });
  double num = 0;
  double den = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const double w = detail::weight_at(sample_weight, i);
    const double residual = static_cast<double>(y_true[i]) - y_pred[i];
    const double spread = static_cast<double>(y_true[i]) - mean;
    num += w * residual * residual;
    den += w * spread * spread;
  }
  if (den == 0) return num == 0 ? 1.0 : 0.0;
  return 1.0 - num / den;
}

}  // namespace funnel::metrics
