#pragma once
/// @file special_functions.hpp
/// @brief Special functions and distribution tails, typically accurate to ~1e-14 relative (checked
/// against scipy 1.10 in tests/stats; limits in docs/stats.md): normal, Student t, chi-square,
/// regularized incomplete gamma and beta, the limiting Kolmogorov distribution. The stats module
/// depends on core only, so experiments and drift share one implementation. Definitions in
/// src/stats/special_functions.cpp.
///
/// Tails are computed directly (`*_sf`) rather than as `1 - cdf`, so p-values of 1e-300 keep
/// their relative precision.

namespace funnel::stats {

/// @brief Standard normal cdf Phi(x).
[[nodiscard]] double normal_cdf(double x) noexcept;
/// @brief Standard normal survival 1 - Phi(x), accurate in the upper tail.
[[nodiscard]] double normal_sf(double x) noexcept;
/// @brief Standard normal quantile Phi^-1(p) (scipy.stats.norm.ppf); -inf at 0, +inf at 1.
/// @throws funnel::invalid_argument if p is outside [0, 1] or NaN.
[[nodiscard]] double normal_quantile(double p);
/// @brief Upper quantile Phi^-1(1 - q), accurate for tiny q (scipy.stats.norm.isf).
/// @throws funnel::invalid_argument if q is outside [0, 1] or NaN.
[[nodiscard]] double normal_isf(double q);

/// @brief Regularized lower incomplete gamma P(a, x) (scipy.special.gammainc). a > 0, x >= 0.
/// @throws funnel::invalid_argument on a domain error.
[[nodiscard]] double gamma_p(double a, double x);
/// @brief Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x) (scipy.special.gammaincc).
/// @throws funnel::invalid_argument on a domain error.
[[nodiscard]] double gamma_q(double a, double x);

/// @brief Regularized incomplete beta I_x(a, b) (scipy.special.betainc). a, b > 0, x in [0, 1].
/// @throws funnel::invalid_argument on a domain error.
[[nodiscard]] double beta_inc(double a, double b, double x);
/// @brief 1 - I_x(a, b) computed without cancellation (= I_{1-x}(b, a)).
/// @throws funnel::invalid_argument on a domain error.
[[nodiscard]] double beta_inc_complement(double a, double b, double x);

/// @brief Student t cdf with `df` > 0 degrees of freedom (df may be fractional, as in Welch).
/// @throws funnel::invalid_argument if df <= 0 or NaN.
[[nodiscard]] double student_t_cdf(double t, double df);
/// @brief Student t survival function P(T > t).
/// @throws funnel::invalid_argument if df <= 0 or NaN.
[[nodiscard]] double student_t_sf(double t, double df);
/// @brief Student t quantile (scipy.stats.t.ppf), by a normal start and safeguarded Newton.
/// @throws funnel::invalid_argument if p is outside [0, 1] or df <= 0.
[[nodiscard]] double student_t_quantile(double p, double df);

/// @brief Chi-square cdf with `df` > 0 degrees of freedom.
/// @throws funnel::invalid_argument if df <= 0 or x is NaN.
[[nodiscard]] double chi_square_cdf(double x, double df);
/// @brief Chi-square survival function (the p-value of a chi-square statistic).
/// @throws funnel::invalid_argument if df <= 0 or x is NaN.
[[nodiscard]] double chi_square_sf(double x, double df);

/// @brief Survival function of the limiting Kolmogorov distribution, P(K > x)
/// (scipy.special.kolmogorov): the asymptotic p-value of sqrt(n) * D_n.
[[nodiscard]] double kolmogorov_sf(double x) noexcept;

}  // namespace funnel::stats
