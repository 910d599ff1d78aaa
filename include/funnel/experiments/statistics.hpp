#pragma once
/// @file statistics.hpp
/// @brief A/B-test statistics: two-proportion z-test, Welch's t-test, Pearson chi-square (with and
/// without Yates), sample-ratio-mismatch check, confidence intervals for absolute and relative
/// lift, power / sample size / minimum detectable effect, CUPED. Every difference is
/// treatment (B) minus control (A). Values equal scipy 1.10 to 1e-10 (p-values) and 1e-12
/// relative (statistics): see tests/fixtures/experiments/make_fixtures.py.

#include <cstddef>
#include <span>
#include <vector>

namespace funnel::experiments {

/// @brief Direction of the alternative hypothesis, for B - A.
enum class alternative { two_sided, greater, less };

/// @brief A test statistic, its p-value and (where it has one) its degrees of freedom.
struct test_result {
  double statistic = 0.0;
  double p_value = 1.0;
  double df = 0.0;  ///< 0 when the null distribution is normal
};

/// @brief Summary of one arm of a numeric metric: count, mean, unbiased variance (ddof = 1).
struct sample_summary {
  double n = 0.0;
  double mean = 0.0;
  double variance = 0.0;
};

/// @brief Mean and unbiased variance of `values`. @throws invalid_argument if fewer than 2 values
/// or a value is not finite.
[[nodiscard]] sample_summary summarize(std::span<const double> values);

/// @brief Two-proportion z-test of successes/trials in B vs A. `pooled` uses the pooled rate in the
/// standard error (the classical test, statsmodels' default); otherwise the unpooled (Wald) one.
/// @throws invalid_argument on counts outside 0 <= x <= n, n > 0, or a zero standard error.
[[nodiscard]] test_result two_proportion_ztest(double successes_a, double trials_a,
                                               double successes_b, double trials_b,
                                               alternative alt = alternative::two_sided,
                                               bool pooled = true);

/// @brief Welch's unequal-variance t-test on summaries (scipy.stats.ttest_ind_from_stats with
/// equal_var=False, arguments B then A). @throws invalid_argument on n < 2, negative variance or a
/// zero standard error.
[[nodiscard]] test_result welch_ttest(const sample_summary& a, const sample_summary& b,
                                      alternative alt = alternative::two_sided);

/// @brief Welch's t-test on raw samples (scipy.stats.ttest_ind(b, a, equal_var=False)).
/// @throws invalid_argument as summarize and welch_ttest do.
[[nodiscard]] test_result welch_ttest(std::span<const double> a, std::span<const double> b,
                                      alternative alt = alternative::two_sided);

/// @brief Pearson chi-square test of independence on a rows x cols table of counts given
/// row-major (scipy.stats.chi2_contingency). As in scipy, Yates' continuity correction applies
/// only when df == 1 and `yates` is true. @throws invalid_argument on negative or non-finite
/// counts, fewer than 2 rows or columns, or a zero expected count.
[[nodiscard]] test_result chi_square_independence(std::span<const double> table, std::size_t rows,
                                                  std::size_t cols, bool yates = true);

/// @brief Chi-square goodness of fit of observed counts against expected proportions
/// (scipy.stats.chisquare with f_exp = total * weights / sum(weights)).
/// @throws invalid_argument on size mismatch, negative counts or non-positive weights.
[[nodiscard]] test_result chi_square_goodness_of_fit(std::span<const double> observed,
                                                     std::span<const double> weights);

/// @brief Sample-ratio-mismatch check: goodness of fit of the units seen per variant to the
/// configured weights. `mismatch` is p_value < threshold (0.001 by convention: an SRM alarm must be
/// rare under correct randomisation, because it invalidates the whole experiment).
struct srm_result {
  test_result test;
  bool mismatch = false;
};
/// @brief See srm_result. @throws as chi_square_goodness_of_fit.
[[nodiscard]] srm_result srm_check(std::span<const double> units_per_variant,
                                   std::span<const double> weights, double threshold = 0.001);

/// @brief A point estimate with a two-sided confidence interval and its standard error.
struct lift_interval {
  double estimate = 0.0;
  double lower = 0.0;
  double upper = 0.0;
  double std_error = 0.0;
};

/// @brief Absolute lift mean_B - mean_A with a normal (large-sample, unpooled) interval.
/// For proportions pass variance = p (1 - p). @throws invalid_argument on n <= 0 or a confidence
/// outside (0, 1).
[[nodiscard]] lift_interval absolute_lift(const sample_summary& a, const sample_summary& b,
                                          double confidence = 0.95);

/// @brief Relative lift mean_B / mean_A - 1 with a delta-method interval
/// (var = v_B / (n_B m_A^2) + m_B^2 v_A / (n_A m_A^4)). @throws invalid_argument if mean_A == 0
/// or as absolute_lift.
[[nodiscard]] lift_interval relative_lift(const sample_summary& a, const sample_summary& b,
                                          double confidence = 0.95);

/// @brief Power of a two-sided z-test for a difference `delta` of means with per-unit standard
/// deviation `sigma`, `num_per_group` units in each arm (both tails counted).
/// @throws invalid_argument on non-positive sigma / n or alpha outside (0, 1).
[[nodiscard]] double power_two_means(double delta, double sigma, double num_per_group,
                                     double alpha = 0.05);
/// @brief Units per group for power `power` at two-sided level `alpha`:
/// 2 sigma^2 (z_{1-alpha/2} + z_power)^2 / delta^2 (not rounded up).
/// @throws invalid_argument on a zero delta or parameters out of range.
[[nodiscard]] double sample_size_two_means(double delta, double sigma, double alpha = 0.05,
                                           double power = 0.8);
/// @brief Minimum detectable |delta| for `num_per_group`: (z_{1-alpha/2} + z_power) sigma
/// sqrt(2/n).
/// @throws invalid_argument on parameters out of range.
[[nodiscard]] double mde_two_means(double sigma, double num_per_group, double alpha = 0.05,
                                   double power = 0.8);
/// @brief Power of the pooled two-proportion z-test (normal approximation, Fleiss without
/// continuity correction) for rates p_a -> p_b with n per group.
/// @throws invalid_argument on rates outside (0, 1) or non-positive n.
[[nodiscard]] double power_two_proportions(double p_a, double p_b, double num_per_group,
                                           double alpha = 0.05);
/// @brief Units per group for the two-proportion test:
/// (z_a sqrt(2 pbar qbar) + z_b sqrt(p_a q_a + p_b q_b))^2 / (p_b - p_a)^2 (not rounded up).
/// @throws invalid_argument on equal rates or parameters out of range.
[[nodiscard]] double sample_size_two_proportions(double p_a, double p_b, double alpha = 0.05,
                                                 double power = 0.8);
/// @brief Smallest absolute increase d such that power_two_proportions(p_a, p_a + d, n) reaches
/// `power` (solved by bisection to 1e-14). @throws invalid_argument if even p_b -> 1 cannot reach
/// it.
[[nodiscard]] double mde_two_proportions(double p_a, double num_per_group, double alpha = 0.05,
                                         double power = 0.8);

/// @brief CUPED (Deng et al. 2013): theta = cov(Y, X) / var(X) over both arms pooled, and the
/// adjusted metric Y - theta (X - mean X). Variance shrinks by a factor 1 - corr(X, Y)^2.
struct cuped_result {
  double theta = 0.0;
  double mean_x = 0.0;
  sample_summary a;       ///< adjusted control
  sample_summary b;       ///< adjusted treatment
  test_result test;       ///< Welch's test on the adjusted metric
  double variance_ratio;  ///< var(adjusted) / var(raw), pooled over both arms
};
/// @brief Applies CUPED with pre-period covariate x to metric y in both arms and runs Welch's test.
/// @throws invalid_argument on size mismatch, non-finite values, fewer than 2 units per arm or a
/// constant covariate.
[[nodiscard]] cuped_result cuped(std::span<const double> y_a, std::span<const double> x_a,
                                 std::span<const double> y_b, std::span<const double> x_b,
                                 alternative alt = alternative::two_sided);

}  // namespace funnel::experiments
