// A/B statistics. Formulas follow scipy 1.10's implementations (scipy/stats/_stats_py.py:
// ttest_ind_from_stats, chisquare/power_divergence; scipy/stats/contingency.py: chi2_contingency)
// operation for operation where that matters for the last bits.
#include <funnel/core/error.hpp>
#include <funnel/experiments/sequential.hpp>
#include <funnel/experiments/statistics.hpp>
#include <funnel/stats/special_functions.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace funnel::experiments {
namespace {

double p_from_normal(double z, alternative alt) {
  switch (alt) {
    case alternative::greater:
      return stats::normal_sf(z);
    case alternative::less:
      return stats::normal_cdf(z);
    case alternative::two_sided:
      break;
  }
  return 2.0 * stats::normal_sf(std::fabs(z));
}

double p_from_t(double t, double df, alternative alt) {
  switch (alt) {
    case alternative::greater:
      return stats::student_t_sf(t, df);
    case alternative::less:
      return stats::student_t_cdf(t, df);
    case alternative::two_sided:
      break;
  }
  return std::min(1.0, 2.0 * stats::student_t_sf(std::fabs(t), df));
}

void check_summary(const sample_summary& s, const char* arm, double min_n) {
  if (!(s.n >= min_n) || !std::isfinite(s.n) || !std::isfinite(s.mean) || !(s.variance >= 0.0) ||
      !std::isfinite(s.variance)) {
    raise<invalid_argument>(
        "experiments.statistics",
        "arm {}: need n >= {} and finite mean and variance >= 0 (n = {}, mean = "
        "{}, variance = {})",
        arm, min_n, s.n, s.mean, s.variance);
  }
}

double z_for(double confidence) {
  if (!(confidence > 0.0 && confidence < 1.0)) {
    raise<invalid_argument>("experiments.statistics", "confidence {} is not in (0, 1)", confidence);
  }
  return stats::normal_isf(0.5 * (1.0 - confidence));
}

void check_alpha_power(double alpha, double power) {
  if (!(alpha > 0.0 && alpha < 1.0))
    raise<invalid_argument>("experiments.statistics", "alpha {} is not in (0, 1)", alpha);
  if (!(power > 0.0 && power < 1.0))
    raise<invalid_argument>("experiments.statistics", "power {} is not in (0, 1)", power);
}

double sum_of(std::span<const double> v) {
  double s = 0.0;
  for (const double x : v) s += x;
  return s;
}

}  // namespace

sample_summary summarize(std::span<const double> values) {
  if (values.size() < 2) {
    raise<invalid_argument>("experiments.statistics",
                            "need at least 2 values to estimate a variance, got {}", values.size());
  }
  double sum = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      raise<invalid_argument>("experiments.statistics", "values[{}] = {} is not finite", i,
                              values[i]);
    }
    sum += values[i];
  }
  const double n = static_cast<double>(values.size());
  const double mean = sum / n;
  double ss = 0.0;
  for (const double x : values) ss += (x - mean) * (x - mean);
  return {n, mean, ss / (n - 1.0)};
}

test_result two_proportion_ztest(double successes_a, double trials_a, double successes_b,
                                 double trials_b, alternative alt, bool pooled) {
  const auto check = [](double x, double n, const char* arm) {
    if (!(n > 0.0) || !(x >= 0.0 && x <= n) || !std::isfinite(n)) {
      raise<invalid_argument>("experiments.statistics",
                              "arm {}: need 0 <= successes <= trials and trials > 0 "
                              "(successes = {}, trials = {})",
                              arm, x, n);
    }
  };
  check(successes_a, trials_a, "A");
  check(successes_b, trials_b, "B");
  const double pa = successes_a / trials_a;
  const double pb = successes_b / trials_b;
  double se = 0.0;
  if (pooled) {
    const double p = (successes_a + successes_b) / (trials_a + trials_b);
    se = std::sqrt(p * (1.0 - p) * (1.0 / trials_a + 1.0 / trials_b));
  } else {
    se = std::sqrt(pa * (1.0 - pa) / trials_a + pb * (1.0 - pb) / trials_b);
  }
  if (!(se > 0.0)) {
    raise<invalid_argument>("experiments.statistics",
                            "two_proportion_ztest: zero standard error (all "
                            "successes or all failures)");
  }
  const double z = (pb - pa) / se;
  return {z, p_from_normal(z, alt), 0.0};
}

test_result welch_ttest(const sample_summary& a, const sample_summary& b, alternative alt) {
  check_summary(a, "A", 2.0);
  check_summary(b, "B", 2.0);
  const double vn1 = b.variance / b.n;
  const double vn2 = a.variance / a.n;
  const double denom_sq = vn1 + vn2;
  if (!(denom_sq > 0.0)) {
    raise<invalid_argument>("experiments.statistics", "welch_ttest: both variances are zero");
  }
  const double df = denom_sq * denom_sq / (vn1 * vn1 / (b.n - 1.0) + vn2 * vn2 / (a.n - 1.0));
  const double t = (b.mean - a.mean) / std::sqrt(denom_sq);
  return {t, p_from_t(t, df, alt), df};
}

test_result welch_ttest(std::span<const double> a, std::span<const double> b, alternative alt) {
  return welch_ttest(summarize(a), summarize(b), alt);
}

test_result chi_square_independence(std::span<const double> table, std::size_t rows,
                                    std::size_t cols, bool yates) {
  if (rows < 2 || cols < 2) {
    raise<invalid_argument>("experiments.statistics",
                            "chi-square: need at least a 2 x 2 table, got {} x {}", rows, cols);
  }
  if (table.size() != rows * cols) {
    raise<dimension_mismatch>("experiments.statistics", "chi-square: {} counts for a {} x {} table",
                              table.size(), rows, cols);
  }
  std::vector<double> row_sum(rows, 0.0);
  std::vector<double> col_sum(cols, 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      const double x = table[i * cols + j];
      if (!(x >= 0.0) || !std::isfinite(x)) {
        raise<invalid_argument>("experiments.statistics",
                                "chi-square: count [{}][{}] = {} is negative or not "
                                "finite",
                                i, j, x);
      }
      row_sum[i] += x;
      col_sum[j] += x;
      total += x;
    }
  }
  const double df = static_cast<double>((rows - 1) * (cols - 1));
  const bool correct = yates && df == 1.0;
  double stat = 0.0;
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      const double expected = row_sum[i] * col_sum[j] / total;
      if (!(expected > 0.0)) {
        raise<invalid_argument>("experiments.statistics",
                                "chi-square: expected count [{}][{}] is zero (empty "
                                "row {} or column {})",
                                i, j, i, j);
      }
      double observed = table[i * cols + j];
      if (correct) {
        const double diff = expected - observed;
        const double direction = diff > 0 ? 1.0 : (diff < 0 ? -1.0 : 0.0);
        observed += std::min(0.5, std::fabs(diff)) * direction;
      }
      const double d = observed - expected;
      stat += d * d / expected;
    }
  }
  return {stat, stats::chi_square_sf(stat, df), df};
}

test_result chi_square_goodness_of_fit(std::span<const double> observed,
                                       std::span<const double> weights) {
  if (observed.size() != weights.size() || observed.size() < 2) {
    raise<dimension_mismatch>("experiments.statistics",
                              "goodness of fit: {} observed counts and {} weights "
                              "(need equal sizes >= 2)",
                              observed.size(), weights.size());
  }
  double total = 0.0;
  double weight_total = 0.0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    if (!(observed[i] >= 0.0) || !std::isfinite(observed[i])) {
      raise<invalid_argument>("experiments.statistics",
                              "observed[{}] = {} is negative or not finite", i, observed[i]);
    }
    if (!(weights[i] > 0.0) || !std::isfinite(weights[i])) {
      raise<invalid_argument>("experiments.statistics", "weights[{}] = {} must be positive", i,
                              weights[i]);
    }
    total += observed[i];
    weight_total += weights[i];
  }
  double stat = 0.0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    const double expected = total * weights[i] / weight_total;
    const double d = observed[i] - expected;
    stat += d * d / expected;
  }
  const double df = static_cast<double>(observed.size() - 1);
  return {stat, stats::chi_square_sf(stat, df), df};
}

srm_result srm_check(std::span<const double> units_per_variant, std::span<const double> weights,
                     double threshold) {
  const auto t = chi_square_goodness_of_fit(units_per_variant, weights);
  return {t, t.p_value < threshold};
}

lift_interval absolute_lift(const sample_summary& a, const sample_summary& b, double confidence) {
  check_summary(a, "A", std::numeric_limits<double>::min());
  check_summary(b, "B", std::numeric_limits<double>::min());
  const double z = z_for(confidence);
  const double d = b.mean - a.mean;
  const double se = std::sqrt(a.variance / a.n + b.variance / b.n);
  return {d, d - z * se, d + z * se, se};
}

lift_interval relative_lift(const sample_summary& a, const sample_summary& b, double confidence) {
  check_summary(a, "A", std::numeric_limits<double>::min());
  check_summary(b, "B", std::numeric_limits<double>::min());
  if (a.mean == 0.0)
    raise<invalid_argument>("experiments.statistics", "relative lift: control mean is 0");
  const double z = z_for(confidence);
  const double r = b.mean / a.mean - 1.0;
  const double ma2 = a.mean * a.mean;
  const double var = b.variance / (b.n * ma2) + b.mean * b.mean * a.variance / (a.n * ma2 * ma2);
  const double se = std::sqrt(var);
  return {r, r - z * se, r + z * se, se};
}

double power_two_means(double delta, double sigma, double num_per_group, double alpha) {
  check_alpha_power(alpha, 0.5);
  if (!(sigma > 0.0) || !(num_per_group > 0.0) || !std::isfinite(delta)) {
    raise<invalid_argument>("experiments.statistics",
                            "power: need sigma > 0, n > 0, finite delta (sigma = "
                            "{}, n = {}, delta = {})",
                            sigma, num_per_group, delta);
  }
  const double se = sigma * std::sqrt(2.0 / num_per_group);
  const double z = stats::normal_isf(alpha / 2.0);
  const double shift = std::fabs(delta) / se;
  return stats::normal_sf(z - shift) + stats::normal_cdf(-z - shift);
}

double sample_size_two_means(double delta, double sigma, double alpha, double power) {
  check_alpha_power(alpha, power);
  if (!(sigma > 0.0) || !(delta != 0.0) || !std::isfinite(delta)) {
    raise<invalid_argument>("experiments.statistics",
                            "sample size: need sigma > 0 and delta != 0 (sigma = {}, "
                            "delta = {})",
                            sigma, delta);
  }
  const double z = stats::normal_isf(alpha / 2.0) + stats::normal_quantile(power);
  return 2.0 * sigma * sigma * z * z / (delta * delta);
}

double mde_two_means(double sigma, double num_per_group, double alpha, double power) {
  check_alpha_power(alpha, power);
  if (!(sigma > 0.0) || !(num_per_group > 0.0)) {
    raise<invalid_argument>("experiments.statistics",
                            "mde: need sigma > 0 and n > 0 (sigma = {}, n = {})", sigma,
                            num_per_group);
  }
  return (stats::normal_isf(alpha / 2.0) + stats::normal_quantile(power)) * sigma *
         std::sqrt(2.0 / num_per_group);
}

double power_two_proportions(double p_a, double p_b, double num_per_group, double alpha) {
  check_alpha_power(alpha, 0.5);
  if (!(p_a > 0.0 && p_a < 1.0) || !(p_b > 0.0 && p_b < 1.0) || !(num_per_group > 0.0)) {
    raise<invalid_argument>("experiments.statistics",
                            "power: need rates in (0, 1) and n > 0 (p_a = {}, p_b = "
                            "{}, n = {})",
                            p_a, p_b, num_per_group);
  }
  const double pbar = 0.5 * (p_a + p_b);
  const double z = stats::normal_isf(alpha / 2.0);
  const double num =
      std::fabs(p_b - p_a) * std::sqrt(num_per_group) - z * std::sqrt(2.0 * pbar * (1.0 - pbar));
  return stats::normal_cdf(num / std::sqrt(p_a * (1.0 - p_a) + p_b * (1.0 - p_b)));
}

double sample_size_two_proportions(double p_a, double p_b, double alpha, double power) {
  check_alpha_power(alpha, power);
  if (!(p_a > 0.0 && p_a < 1.0) || !(p_b > 0.0 && p_b < 1.0) || p_a == p_b) {
    raise<invalid_argument>("experiments.statistics",
                            "sample size: need distinct rates in (0, 1) (p_a = {}, "
                            "p_b = {})",
                            p_a, p_b);
  }
  const double pbar = 0.5 * (p_a + p_b);
  const double za = stats::normal_isf(alpha / 2.0);
  const double zb = stats::normal_quantile(power);
  const double num = za * std::sqrt(2.0 * pbar * (1.0 - pbar)) +
                     zb * std::sqrt(p_a * (1.0 - p_a) + p_b * (1.0 - p_b));
  const double d = p_b - p_a;
  return num * num / (d * d);
}

double mde_two_proportions(double p_a, double num_per_group, double alpha, double power) {
  check_alpha_power(alpha, power);
  if (!(p_a > 0.0 && p_a < 1.0) || !(num_per_group > 0.0)) {
    raise<invalid_argument>("experiments.statistics",
                            "mde: need p_a in (0, 1) and n > 0 (p_a = {}, n = {})", p_a,
                            num_per_group);
  }
  double lo = 0.0;
  double hi = 1.0 - p_a;
  const auto f = [&](double d) {
    return power_two_proportions(p_a, p_a + d, num_per_group, alpha);
  };
  if (f(hi * (1.0 - 1e-12)) < power) {
    raise<invalid_argument>("experiments.statistics",
                            "mde: power {} is out of reach with n = {} per group", power,
                            num_per_group);
  }
  for (int i = 0; i < 200 && hi - lo > 1e-15; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= 0.0 || f(mid) < power)
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

cuped_result cuped(std::span<const double> y_a, std::span<const double> x_a,
                   std::span<const double> y_b, std::span<const double> x_b, alternative alt) {
  if (y_a.size() != x_a.size() || y_b.size() != x_b.size()) {
    raise<dimension_mismatch>("experiments.cuped",
                              "cuped: metric and covariate sizes differ (A: {} vs "
                              "{}, B: {} vs {})",
                              y_a.size(), x_a.size(), y_b.size(), x_b.size());
  }
  if (y_a.size() < 2 || y_b.size() < 2) {
    raise<invalid_argument>("experiments.cuped", "cuped: need at least 2 units per arm");
  }
  const auto check_finite = [](std::span<const double> v, const char* name) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i]))
        raise<invalid_argument>("experiments.cuped", "cuped: {}[{}] = {} is not finite", name, i,
                                v[i]);
    }
  };
  check_finite(y_a, "y_a");
  check_finite(x_a, "x_a");
  check_finite(y_b, "y_b");
  check_finite(x_b, "x_b");
  const double n = static_cast<double>(y_a.size() + y_b.size());
  const double mx = (sum_of(x_a) + sum_of(x_b)) / n;
  const double my = (sum_of(y_a) + sum_of(y_b)) / n;
  double sxy = 0.0;
  double sxx = 0.0;
  double syy = 0.0;
  const auto accumulate = [&](std::span<const double> y, std::span<const double> x) {
    for (std::size_t i = 0; i < y.size(); ++i) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
    }
  };
  accumulate(y_a, x_a);
  accumulate(y_b, x_b);
  if (!(sxx > 0.0))
    raise<invalid_argument>("experiments.cuped", "cuped: the covariate is constant");
  const double theta = sxy / sxx;
  const auto adjust = [&](std::span<const double> y, std::span<const double> x) {
    std::vector<double> out(y.size());
    for (std::size_t i = 0; i < y.size(); ++i) out[i] = y[i] - theta * (x[i] - mx);
    return out;
  };
  const auto adj_a = adjust(y_a, x_a);
  const auto adj_b = adjust(y_b, x_b);
  cuped_result r{};
  r.theta = theta;
  r.mean_x = mx;
  r.a = summarize(adj_a);
  r.b = summarize(adj_b);
  r.test = welch_ttest(r.a, r.b, alt);
  double sum_adj = sum_of(adj_a) + sum_of(adj_b);
  const double madj = sum_adj / n;
  double ss_adj = 0.0;
  for (const double v : adj_a) ss_adj += (v - madj) * (v - madj);
  for (const double v : adj_b) ss_adj += (v - madj) * (v - madj);
  r.variance_ratio = syy > 0.0 ? ss_adj / syy : 1.0;
  return r;
}

// ---- mSPRT ---------------------------------------------------------------------------------

double msprt_likelihood_ratio(double theta_hat, double v, double tau2) {
  if (!(v > 0.0) || !(tau2 > 0.0)) {
    raise<invalid_argument>("experiments.msprt",
                            "mSPRT: need v > 0 and tau2 > 0 (v = {}, tau2 = {})", v, tau2);
  }
  return std::sqrt(v / (v + tau2)) *
         std::exp(tau2 * theta_hat * theta_hat / (2.0 * v * (v + tau2)));
}

msprt::msprt(double tau2, const msprt_options& options)
    : tau2_(tau2),
      alpha_(options.alpha),
      burn_in_(std::max(2.0, options.burn_in)),
      lower_(-std::numeric_limits<double>::infinity()),
      upper_(std::numeric_limits<double>::infinity()) {
  if (!(tau2 > 0.0) || !std::isfinite(tau2))
    raise<invalid_argument>("experiments.msprt", "mSPRT: tau2 = {} must be positive", tau2);
  if (!(alpha_ > 0.0 && alpha_ < 1.0))
    raise<invalid_argument>("experiments.msprt", "mSPRT: msprt_options.alpha {} is not in (0, 1)",
                            alpha_);
}

void msprt::add(moments& m, double x) noexcept {
  m.n += 1.0;
  const double d = x - m.mean;
  m.mean += d / m.n;
  m.m2 += d * (x - m.mean);
}

sample_summary msprt::summary(const moments& m) noexcept {
  return {m.n, m.mean, m.n > 1.0 ? m.m2 / (m.n - 1.0) : 0.0};
}

void msprt::add_a(double value) {
  if (!std::isfinite(value))
    raise<invalid_argument>("experiments.msprt", "mSPRT: arm A value {} is not finite", value);
  add(a_, value);
}

void msprt::add_b(double value) {
  if (!std::isfinite(value))
    raise<invalid_argument>("experiments.msprt", "mSPRT: arm B value {} is not finite", value);
  add(b_, value);
}

double msprt::look() {
  if (a_.n < burn_in_ || b_.n < burn_in_) return p_value_;
  const auto sa = summary(a_);
  const auto sb = summary(b_);
  const double v = sa.variance / sa.n + sb.variance / sb.n;
  if (!(v > 0.0)) return p_value_;
  const double theta = sb.mean - sa.mean;
  const double lr = msprt_likelihood_ratio(theta, v, tau2_);
  p_value_ = std::min(p_value_, 1.0 / lr);
  const double half = std::sqrt(v * (v + tau2_) / tau2_ *
                                (2.0 * std::log(1.0 / alpha_) + std::log((v + tau2_) / v)));
  lower_ = std::max(lower_, theta - half);
  upper_ = std::min(upper_, theta + half);
  return p_value_;
}

}  // namespace funnel::experiments
