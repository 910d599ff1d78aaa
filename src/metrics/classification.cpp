#include <funnel/metrics/classification.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "metrics/check.hpp"

namespace funnel::metrics {
namespace {

using detail::weight_at;

void require_both_classes(std::string_view where, const binary_curve& c) {
  if (c.tps.back() <= 0 || c.fps.back() <= 0) {
    raise<invalid_argument>(where,
                            "only one class present in y_true (weighted positives {}, negatives "
                            "{}); the metric is undefined",
                            c.tps.back(), c.fps.back());
  }
}

}  // namespace

binary_curve binary_clf_curve(labels y_true, values y_score, weights sample_weight) {
  detail::check_binary("metrics.binary_clf_curve", y_true, y_score, sample_weight);
  const std::size_t n = y_true.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return y_score[a] > y_score[b]; });
  binary_curve c;
  double tp = 0;
  double fp = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const std::size_t i = order[r];
    const double w = weight_at(sample_weight, i);
    if (y_true[i] == 1) {
      tp += w;
    } else {
      fp += w;
    }
    if (r + 1 == n || y_score[order[r + 1]] != y_score[i]) {
      c.thresholds.push_back(y_score[i]);
      c.tps.push_back(tp);
      c.fps.push_back(fp);
    }
  }
  return c;
}

double roc_auc(labels y_true, values y_score, weights sample_weight) {
  const auto c = binary_clf_curve(y_true, y_score, sample_weight);
  require_both_classes("metrics.roc_auc", c);
  const double p = c.tps.back();
  const double q = c.fps.back();
  double area = 0;
  double x0 = 0;
  double y0 = 0;
  for (std::size_t k = 0; k < c.tps.size(); ++k) {
    const double x1 = c.fps[k] / q;
    const double y1 = c.tps[k] / p;
    area += (x1 - x0) * (y1 + y0) / 2.0;
    x0 = x1;
    y0 = y1;
  }
  return area;
}

double average_precision(labels y_true, values y_score, weights sample_weight) {
  const auto c = binary_clf_curve(y_true, y_score, sample_weight);
  if (c.tps.back() <= 0) {
    raise<invalid_argument>("metrics.average_precision",
                            "no positive label in y_true; AP is undefined");
  }
  const double p = c.tps.back();
  double ap = 0;
  double r0 = 0;
  for (std::size_t k = 0; k < c.tps.size(); ++k) {
    const double ps = c.tps[k] + c.fps[k];
    const double precision = ps != 0 ? c.tps[k] / ps : 0.0;
    const double r1 = c.tps[k] / p;
    ap += (r1 - r0) * precision;
    r0 = r1;
  }
  return ap;
}

double log_loss(labels y_true, values y_prob, weights sample_weight) {
  detail::check_binary("metrics.log_loss", y_true, y_prob, sample_weight, "y_prob");
  constexpr double eps = std::numeric_limits<double>::epsilon();
  double sum = 0;
  double wsum = 0;
  bool seen[2] = {false, false};
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    seen[y_true[i] == 1 ? 1 : 0] = true;
    const double q = std::clamp(static_cast<double>(y_prob[i]), eps, 1.0 - eps);
    const double a = 1.0 - q;
    const double s = a + q;  // sklearn renormalises the two columns (1 - q, q)
    const double loss = y_true[i] == 1 ? -std::log(q / s) : -std::log(a / s);
    const double w = weight_at(sample_weight, i);
    sum += w * loss;
    wsum += w;
  }
  if (!seen[0] || !seen[1]) {
    raise<invalid_argument>("metrics.log_loss",
                            "y_true contains only one label ({}); log loss needs both",
                            seen[1] ? 1 : 0);
  }
  if (wsum <= 0) raise<invalid_argument>("metrics.log_loss", "sample weights sum to zero");
  return sum / wsum;
}

double brier_score(labels y_true, values y_prob, weights sample_weight) {
  detail::check_binary("metrics.brier_score", y_true, y_prob, sample_weight, "y_prob");
  double sum = 0;
  double wsum = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const double d = static_cast<double>(y_true[i]) - y_prob[i];
    const double w = weight_at(sample_weight, i);
    sum += w * d * d;
    wsum += w;
  }
  if (wsum <= 0) raise<invalid_argument>("metrics.brier_score", "sample weights sum to zero");
  return sum / wsum;
}

double confusion_matrix::accuracy() const noexcept {
  const double n = tn + fp + fn + tp;
  return n > 0 ? (tp + tn) / n : 0.0;
}
double confusion_matrix::precision() const noexcept {
  return tp + fp > 0 ? tp / (tp + fp) : 0.0;
}
double confusion_matrix::recall() const noexcept {
  return tp + fn > 0 ? tp / (tp + fn) : 0.0;
}
double confusion_matrix::f1() const noexcept {
  // sklearn computes F1 from counts: 2tp / (2tp + fp + fn).
  const double d = 2 * tp + fp + fn;
  return d > 0 ? 2 * tp / d : 0.0;
}
double confusion_matrix::false_positive_rate() const noexcept {
  return fp + tn > 0 ? fp / (fp + tn) : 0.0;
}

confusion_matrix confusion_at(labels y_true, values y_score, double threshold,
                              weights sample_weight) {
  detail::check_binary("metrics.confusion_at", y_true, y_score, sample_weight);
  confusion_matrix m;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const double w = weight_at(sample_weight, i);
    const bool pred = y_score[i] >= threshold;
    if (y_true[i] == 1) {
      (pred ? m.tp : m.fn) += w;
    } else {
      (pred ? m.fp : m.tn) += w;
    }
  }
  return m;
}

threshold_choice best_threshold(labels y_true, values y_score, double cost_fp, double cost_fn,
                                weights sample_weight) {
  if (!std::isfinite(cost_fp) || !std::isfinite(cost_fn) || cost_fp < 0 || cost_fn < 0) {
    raise<invalid_argument>("metrics.best_threshold",
                            "costs must be finite and >= 0 (cost_fp {}, cost_fn {})", cost_fp,
                            cost_fn);
  }
  const auto c = binary_clf_curve(y_true, y_score, sample_weight);
  const double p = c.tps.back();
  const double q = c.fps.back();
  threshold_choice best;
  best.threshold = std::numeric_limits<double>::infinity();
  best.cost = cost_fn * p;
  best.counts = {q, 0, p, 0};
  for (std::size_t k = 0; k < c.tps.size(); ++k) {
    const double fn = p - c.tps[k];
    const double cost = cost_fp * c.fps[k] + cost_fn * fn;
    if (cost < best.cost) {
      best.threshold = c.thresholds[k];
      best.cost = cost;
      best.counts = {q - c.fps[k], c.fps[k], fn, c.tps[k]};
    }
  }
  return best;
}

}  // namespace funnel::metrics
