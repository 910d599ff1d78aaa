#include <funnel/metrics/calibration.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/json_document.hpp"
#include "metrics/check.hpp"

namespace funnel::metrics {
namespace {

using funnel::detail::document_kind;
using funnel::detail::read_document;

// The documents of the calibrators, with the type strings earlier releases wrote.
constexpr document_kind platt_document{"funnel.metrics.platt_calibrator", 1, "platt_calibrator"};
constexpr document_kind isotonic_document{"funnel.metrics.isotonic_calibrator", 1,
                                          "isotonic_calibrator"};

using detail::weight_at;

// numpy.linspace(0, 1, n + 1): i * (1 / n), last edge exactly 1.
std::vector<double> uniform_edges(std::size_t num_bins) {
  std::vector<double> e(num_bins + 1);
  const double step = 1.0 / static_cast<double>(num_bins);
  for (std::size_t i = 0; i < num_bins; ++i) e[i] = static_cast<double>(i) * step + 0.0;
  e[num_bins] = 1.0;
  return e;
}

// numpy.percentile(p, linspace(0, 1, n + 1) * 100) with the default "linear" method, reproduced
// operation for operation (numpy's _lerp switches formula at gamma >= 0.5) because probabilities
// that equal an edge must fall in the same bin as in scikit-learn.
std::vector<double> quantile_edges(values p, std::size_t num_bins) {
  std::vector<double> sorted(p.begin(), p.end());
  std::sort(sorted.begin(), sorted.end());
  const auto edges = uniform_edges(num_bins);
  const double n1 = static_cast<double>(sorted.size() - 1);
  std::vector<double> out(edges.size());
  for (std::size_t i = 0; i < edges.size(); ++i) {
    const double q = (edges[i] * 100.0) / 100.0;
    const double vi = n1 * q;
    double a;
    double b;
    double gamma;
    if (vi >= n1) {
      a = b = sorted.back();
      gamma = 0;
    } else {
      const double prev = std::floor(vi);
      gamma = vi - prev;
      const auto k = static_cast<std::size_t>(prev);
      a = sorted[k];
      b = sorted[k + 1];
    }
    const double d = b - a;
    out[i] = gamma >= 0.5 ? b - d * (1 - gamma) : a + d * gamma;
  }
  return out;
}

}  // namespace

reliability_bins calibration_curve(labels y_true, values y_prob, std::size_t num_bins,
                                   bin_strategy strategy) {
  detail::check_binary("metrics.calibration_curve", y_true, y_prob, {}, "y_prob");
  if (num_bins == 0) raise<invalid_argument>("metrics.calibration_curve", "num_bins must be >= 1");
  for (std::size_t i = 0; i < y_prob.size(); ++i) {
    if (y_prob[i] < 0 || y_prob[i] > 1) {
      raise<invalid_argument>("metrics.calibration_curve", "y_prob[{}] = {} is outside [0, 1]", i,
                              y_prob[i]);
    }
  }
  const auto edges = strategy == bin_strategy::uniform ? uniform_edges(num_bins)
                                                       : quantile_edges(y_prob, num_bins);
  // Bin id = number of inner edges strictly below p (numpy.searchsorted(edges[1:-1], p, "left")).
  const auto inner_begin = edges.begin() + 1;
  const auto inner_end = edges.end() - 1;
  std::vector<double> sums(num_bins, 0.0);
  std::vector<double> trues(num_bins, 0.0);
  std::vector<double> totals(num_bins, 0.0);
  for (std::size_t i = 0; i < y_prob.size(); ++i) {
    const auto id =
        static_cast<std::size_t>(std::lower_bound(inner_begin, inner_end, y_prob[i]) - inner_begin);
    sums[id] += y_prob[i];
    trues[id] += static_cast<double>(y_true[i]);
    totals[id] += 1.0;
  }
  reliability_bins r;
  for (std::size_t b = 0; b < num_bins; ++b) {
    if (totals[b] == 0) continue;
    r.prob_true.push_back(trues[b] / totals[b]);
    r.prob_pred.push_back(sums[b] / totals[b]);
    r.count.push_back(totals[b]);
  }
  return r;
}

double expected_calibration_error(labels y_true, values y_prob, std::size_t num_bins,
                                  bin_strategy strategy) {
  const auto r = calibration_curve(y_true, y_prob, num_bins, strategy);
  const double n = static_cast<double>(y_true.size());
  double ece = 0;
  for (std::size_t b = 0; b < r.count.size(); ++b) {
    ece += r.count[b] / n * std::abs(r.prob_true[b] - r.prob_pred[b]);
  }
  return ece;
}

// ---------------------------------------------------------------------------------------------
// Platt

namespace {

// Weighted class totals and Platt's smoothed targets for the negative (t0) and positive (t1)
// class, as sklearn's _sigmoid_calibration computes them.
struct platt_targets {
  double prior0 = 0;
  double prior1 = 0;
  double t0 = 0;
  double t1 = 0;
};

platt_targets targets_of(labels y_true, weights sample_weight) {
  platt_targets t;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    (y_true[i] == 1 ? t.prior1 : t.prior0) += weight_at(sample_weight, i);
  }
  t.t1 = (t.prior1 + 1.0) / (t.prior1 + 2.0);
  t.t0 = 1.0 / (t.prior0 + 2.0);
  return t;
}

}  // namespace

double platt_calibrator::objective(labels y_true, values y_score, weights sample_weight, double a,
                                   double b) {
  detail::check_binary("metrics.platt_calibrator", y_true, y_score, sample_weight);
  const auto [prior0, prior1, t0, t1] = targets_of(y_true, sample_weight);
  double sum = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const double t = y_true[i] == 1 ? t1 : t0;
    const double z = a * y_score[i] + b;
    // log(1 + e^z) - (1 - t) z, the stable form of -(t log P + (1 - t) log(1 - P)), P = 1/(1+e^z)
    const double softplus = z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
    sum += weight_at(sample_weight, i) * (softplus - (1.0 - t) * z);
  }
  return sum;
}

void platt_calibrator::fit(labels y_true, values y_score, weights sample_weight) {
  detail::check_binary("metrics.platt_calibrator", y_true, y_score, sample_weight);
  const auto [prior0, prior1, t0, t1] = targets_of(y_true, sample_weight);
  if (prior0 <= 0 || prior1 <= 0) {
    raise<invalid_argument>("metrics.platt_calibrator", "only one class present in y_true");
  }
  double a = 0;
  double b = std::log((prior0 + 1.0) / (prior1 + 1.0));  // sklearn's starting point
  double f = objective(y_true, y_score, sample_weight, a, b);
  // Newton with backtracking (Lin, Lin and Weng 2007): the objective is convex in (a, b).
  for (int it = 0; it < 200; ++it) {
    double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (std::size_t i = 0; i < y_true.size(); ++i) {
      const double w = weight_at(sample_weight, i);
      const double t = y_true[i] == 1 ? t1 : t0;
      const double z = a * y_score[i] + b;
      const double s = 1.0 / (1.0 + std::exp(-z));  // 1 - P
      const double g = s - (1.0 - t);
      const double h = s * (1.0 - s);
      ga += w * g * y_score[i];
      gb += w * g;
      haa += w * h * y_score[i] * y_score[i];
      hab += w * h * y_score[i];
      hbb += w * h;
    }
    if (std::max(std::abs(ga), std::abs(gb)) < 1e-12 * std::max(1.0, prior0 + prior1)) break;
    haa += 1e-12;
    hbb += 1e-12;
    const double det = haa * hbb - hab * hab;
    const double da = -(hbb * ga - hab * gb) / det;
    const double db = -(-hab * ga + haa * gb) / det;
    double step = 1.0;
    bool moved = false;
    while (step > 1e-12) {
      const double fn = objective(y_true, y_score, sample_weight, a + step * da, b + step * db);
      if (fn <= f + 1e-4 * step * (ga * da + gb * db)) {
        a += step * da;
        b += step * db;
        moved = fn < f;
        f = fn;
        break;
      }
      step /= 2;
    }
    if (!std::isfinite(f)) {
      raise<convergence_error>("metrics.platt_calibrator",
                               "objective became non-finite at a={} b={}", a, b);
    }
    if (!moved) break;  // no further decrease in floating point: at the optimum
  }
  a_ = a;
  b_ = b;
}

double platt_calibrator::predict(double score) const noexcept {
  return 1.0 / (1.0 + std::exp(a_ * score + b_));
}

json platt_calibrator::to_json() const {
  auto j = platt_document.header();
  j["a"] = a_;
  j["b"] = b_;
  return j;
}

platt_calibrator platt_calibrator::from_json(const json& j) {
  return read_document(j, platt_document, [&](int /*version*/) {
    platt_calibrator p;
    p.a_ = json_get_finite<double>(j, "a", "platt_calibrator");
    p.b_ = json_get_finite<double>(j, "b", "platt_calibrator");
    return p;
  });
}

// ---------------------------------------------------------------------------------------------
// Isotonic

namespace {

// sklearn's _inplace_contiguous_isotonic_regression, step for step (same floating point).
void pav(std::vector<double>& y, std::vector<double>& w) {
  const std::size_t n = y.size();
  std::vector<std::size_t> target(n);
  std::iota(target.begin(), target.end(), std::size_t{0});
  std::size_t i = 0;
  while (i < n) {
    std::size_t k = target[i] + 1;
    if (k == n) break;
    if (y[i] < y[k]) {
      i = k;
      continue;
    }
    double sum_wy = w[i] * y[i];
    double sum_w = w[i];
    while (true) {
      const double prev_y = y[k];
      sum_wy += w[k] * y[k];
      sum_w += w[k];
      k = target[k] + 1;
      if (k == n || prev_y < y[k]) {
        y[i] = sum_wy / sum_w;
        w[i] = sum_w;
        target[i] = k - 1;
        target[k - 1] = i;
        if (i > 0) i = target[i - 1];
        break;
      }
    }
  }
  i = 0;
  while (i < n) {
    const std::size_t k = target[i] + 1;
    for (std::size_t j = i + 1; j < k; ++j) y[j] = y[i];
    i = k;
  }
}

}  // namespace

void isotonic_calibrator::fit_regression(values x, values y, weights sample_weight) {
  detail::check_same_length("metrics.isotonic_calibrator", x.size(), y.size(), "y");
  detail::check_finite("metrics.isotonic_calibrator", x, "x");
  detail::check_finite("metrics.isotonic_calibrator", y, "y");
  detail::check_weights("metrics.isotonic_calibrator", sample_weight, x.size());
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (weight_at(sample_weight, i) > 0) order.push_back(i);  // zero weights are dropped
  }
  if (order.empty())
    raise<invalid_argument>("metrics.isotonic_calibrator", "no sample with positive weight");
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return x[a] != x[b] ? x[a] < x[b] : y[a] < y[b];  // numpy.lexsort((y, x))
  });
  // _make_unique: values closer than float64 resolution (1e-15) are one point.
  constexpr double eps = 1e-15;
  std::vector<double> ux, uy, uw;
  double cur_x = x[order[0]];
  double cur_y = 0;
  double cur_w = 0;
  for (const auto i : order) {
    const double wi = weight_at(sample_weight, i);
    if (x[i] - cur_x >= eps) {
      ux.push_back(cur_x);
      uw.push_back(cur_w);
      uy.push_back(cur_y / cur_w);
      cur_x = x[i];
      cur_w = wi;
      cur_y = y[i] * wi;
    } else {
      cur_w += wi;
      cur_y += y[i] * wi;
    }
  }
  ux.push_back(cur_x);
  uw.push_back(cur_w);
  uy.push_back(cur_y / cur_w);
  pav(uy, uw);
  // Keep the ends of each constant run only (sklearn trim_duplicates): interpolation is unchanged.
  x_.clear();
  y_.clear();
  for (std::size_t k = 0; k < uy.size(); ++k) {
    const bool keep = k == 0 || k + 1 == uy.size() || uy[k] != uy[k - 1] || uy[k] != uy[k + 1];
    if (keep) {
      x_.push_back(ux[k]);
      y_.push_back(uy[k]);
    }
  }
}

void isotonic_calibrator::fit(labels y_true, values y_score, weights sample_weight) {
  detail::check_binary("metrics.isotonic_calibrator", y_true, y_score, sample_weight);
  fit_regression(y_score, y_true, sample_weight);
}

double isotonic_calibrator::predict(double score) const noexcept {
  if (std::isnan(score) || x_.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (x_.size() == 1) return y_[0];
  const double t = std::clamp(score, x_.front(), x_.back());
  // scipy interp1d(kind="linear"): hi = searchsorted(x, t, "left") clipped to [1, n - 1].
  auto hi = static_cast<std::size_t>(std::lower_bound(x_.begin(), x_.end(), t) - x_.begin());
  hi = std::clamp<std::size_t>(hi, 1, x_.size() - 1);
  const std::size_t lo = hi - 1;
  const double slope = (y_[hi] - y_[lo]) / (x_[hi] - x_[lo]);
  return slope * (t - x_[lo]) + y_[lo];
}

json isotonic_calibrator::to_json() const {
  auto j = isotonic_document.header();
  j["x"] = x_;
  j["y"] = y_;
  return j;
}

isotonic_calibrator isotonic_calibrator::from_json(const json& j) {
  return read_document(j, isotonic_document, [&](int /*version*/) {
    isotonic_calibrator c;
    c.x_ = json_get<std::vector<double>>(j, "x", "isotonic_calibrator");
    c.y_ = json_get<std::vector<double>>(j, "y", "isotonic_calibrator");
    if (c.x_.size() != c.y_.size() || c.x_.empty()) {
      raise<parse_error>(isotonic_document.id(),
                         "x has {} values and y has {}: need equal, non-zero", c.x_.size(),
                         c.y_.size());
    }
    for (std::size_t k = 0; k < c.x_.size(); ++k) {
      if (!std::isfinite(c.x_[k]) || !std::isfinite(c.y_[k]) ||
          (k > 0 && !(c.x_[k] > c.x_[k - 1]))) {
        raise<parse_error>(isotonic_document.id(), "x[{}] = {} must be finite and increasing", k,
                           c.x_[k]);
      }
    }
    return c;
  });
}

}  // namespace funnel::metrics
