// Special functions for funnel::stats. Algorithms: incomplete gamma by series / Lentz continued
// fraction, incomplete beta by Lentz continued fraction (both as in Numerical Recipes 6.2/6.4),
// with the power prefactors x^a e^-x / Gamma(a) and x^a y^b / B(a, b) evaluated through Stirling's
// series so that large shapes (Welch df ~ 1e6) do not lose digits to lgamma cancellation. Normal
// quantile: Acklam's rational start polished by two Halley steps on erfc.
#include <funnel/core/error.hpp>
#include <funnel/stats/special_functions.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace funnel::stats {
namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();
constexpr double tiny = 1e-300;
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr int max_iterations = 1'000'000;
const double half_log_two_pi = 0.5 * std::log(2.0 * std::numbers::pi);

// lgamma(z) - Stirling's approximation ((z - 1/2) ln z - z + ln(2 pi)/2).
double stirling_error(double z) {
  if (z < 10.0) {
    return std::lgamma(z) - ((z - 0.5) * std::log(z) - z + half_log_two_pi);
  }
  const double r = 1.0 / z;
  const double r2 = r * r;
  return r * (1.0 / 12 +
              r2 * (-1.0 / 360 +
                    r2 * (1.0 / 1260 +
                          r2 * (-1.0 / 1680 +
                                r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 + r2 * (1.0 / 156)))))));
}

// log(1 + d) - d without cancellation for small |d|.
double log1pmx(double d) {
  if (std::fabs(d) > 0.25) return std::log1p(d) - d;
  double term = d;
  double sum = 0.0;
  for (int k = 2; k < 200; ++k) {
    term *= -d;
    const double next = term / k;
    sum += next;
    if (std::fabs(next) < eps * std::fabs(sum)) break;
  }
  return sum;
}

// log(x^a e^-x / Gamma(a)).
double log_gamma_prefactor(double a, double x) {
  if (a < 10.0) return a * std::log(x) - x - std::lgamma(a);
  const double d = (x - a) / a;
  return a * log1pmx(d) + 0.5 * std::log(a) - half_log_two_pi - stirling_error(a);
}

// log(x^a y^b / B(a, b)), y = 1 - x supplied by the caller to keep its precision.
double log_beta_prefactor(double a, double b, double x, double y) {
  if (a + b < 10.0) {
    return a * std::log(x) + b * std::log(y) + std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b);
  }
  // With s = a + b: x^a y^b / B(a,b) = (xs/a)^a (ys/b)^b sqrt(ab/(2 pi s)) exp(e(s) - e(a) - e(b)),
  // e = stirling_error. xs - a = xb - ya, computed once for both factors.
  const double s = a + b;
  const double diff = x * b - y * a;
  const double ta = std::fabs(diff / a) < 0.5 ? a * std::log1p(diff / a) : a * std::log(x * s / a);
  const double tb = std::fabs(diff / b) < 0.5 ? b * std::log1p(-diff / b) : b * std::log(y * s / b);
  return ta + tb + 0.5 * (std::log(a) + std::log(b) - std::log(s)) - half_log_two_pi +
         stirling_error(s) - stirling_error(a) - stirling_error(b);
}

double gamma_series(double a, double x) {  // sum_{n>=0} x^n / (a (a+1) ... (a+n))
  double ap = a;
  double del = 1.0 / a;
  double sum = del;
  for (int n = 0; n < max_iterations; ++n) {
    ap += 1.0;
    del *= x / ap;
    sum += del;
    if (std::fabs(del) < std::fabs(sum) * eps * 0.5) return sum;
  }
  raise<convergence_error>("stats.special_functions",
                           "gamma series did not converge (a = {}, x = {})", a, x);
}

// One step of the modified Lentz algorithm for a continued fraction's term a_n / (b_n + ...):
// updates C_n = b_n + a_n / C_{n-1} and D_n = 1 / (b_n + a_n D_{n-1}) (each kept away from 0) and
// returns the factor C_n D_n that takes one convergent to the next.
double lentz_step(double an, double bn, double& c, double& d) {
  d = an * d + bn;
  if (std::fabs(d) < tiny) d = tiny;
  c = bn + an / c;
  if (std::fabs(c) < tiny) c = tiny;
  d = 1.0 / d;
  return d * c;
}

double gamma_fraction(double a, double x) {  // Lentz's method for Q(a, x) / prefactor
  double b = x + 1.0 - a;
  double c = 1.0 / tiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < max_iterations; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    const double del = lentz_step(an, b, c, d);
    h *= del;
    if (std::fabs(del - 1.0) < eps * 0.5) return h;
  }
  raise<convergence_error>("stats.special_functions",
                           "gamma continued fraction did not converge (a = {}, x = {})", a, x);
}

double beta_fraction(double a, double b, double x) {  // Lentz's method, NR betacf
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m < max_iterations; ++m) {
    const double m2 = 2.0 * m;
    const double even = m * (b - m) * x / ((qam + m2) * (a + m2));
    h *= lentz_step(even, 1.0, c, d);
    const double odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    const double del = lentz_step(odd, 1.0, c, d);
    h *= del;
    if (std::fabs(del - 1.0) < eps * 0.5) return h;
  }
  raise<convergence_error>("stats.special_functions",
                           "beta continued fraction did not converge (a = {}, b = {}, x = {})", a,
                           b, x);
}

// Both I_x(a, b) and its complement, y = 1 - x.
void beta_pair(double a, double b, double x, double y, double& lower, double& upper) {
  if (x <= 0.0) {
    lower = 0.0;
    upper = 1.0;
    return;
  }
  if (y <= 0.0) {
    lower = 1.0;
    upper = 0.0;
    return;
  }
  const double pre = std::exp(log_beta_prefactor(a, b, x, y));
  if (x < (a + 1.0) / (a + b + 2.0)) {
    lower = pre * beta_fraction(a, b, x) / a;
    upper = 1.0 - lower;
  } else {
    upper = pre * beta_fraction(b, a, y) / b;
    lower = 1.0 - upper;
  }
}

void check_probability(double p, const char* what) {
  if (!(p >= 0.0 && p <= 1.0))
    raise<invalid_argument>("stats.special_functions", "{}: p = {} is not in [0, 1]", what, p);
}

void check_df(double df, const char* what) {
  if (!(df > 0.0) || std::isinf(df)) {
    raise<invalid_argument>("stats.special_functions",
                            "{}: degrees of freedom {} must be positive and finite", what, df);
  }
}

// Lower-tail normal quantile for 0 < p <= 0.5.
double normal_lower_quantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  double x = 0.0;
  if (p < 0.02425) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  // Halley steps on Phi(x) - p; Phi is relative-accurate in the lower tail, so this converges to
  // full precision even for p ~ 1e-300.
  for (int i = 0; i < 3; ++i) {
    const double e = normal_cdf(x) - p;
    const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(0.5 * x * x);
    x = x - u / (1.0 + 0.5 * x * u);
  }
  return x;
}

double t_pdf(double t, double df) {
  return std::exp(std::lgamma(0.5 * (df + 1.0)) - std::lgamma(0.5 * df) -
                  0.5 * std::log(df * std::numbers::pi) -
                  0.5 * (df + 1.0) * std::log1p(t * t / df));
}

// P(T > s) for s >= 0.
double t_upper(double s, double df) {
  const double t2 = s * s;
  const double x = df / (df + t2);
  const double y = t2 / (df + t2);
  double lower = 0;
  double upper = 0;
  beta_pair(0.5 * df, 0.5, x, y, lower, upper);
  return 0.5 * lower;
}

}  // namespace

double normal_cdf(double x) noexcept {
  return 0.5 * std::erfc(-x / std::numbers::sqrt2);
}

double normal_sf(double x) noexcept {
  return 0.5 * std::erfc(x / std::numbers::sqrt2);
}

double normal_quantile(double p) {
  check_probability(p, "normal_quantile");
  if (p == 0.0) return -inf;
  if (p == 1.0) return inf;
  if (p <= 0.5) return normal_lower_quantile(p);
  return -normal_lower_quantile(1.0 - p);  // exact subtraction for p >= 0.5
}

double normal_isf(double q) {
  check_probability(q, "normal_isf");
  if (q == 0.0) return inf;
  if (q == 1.0) return -inf;
  if (q <= 0.5) return -normal_lower_quantile(q);
  return normal_lower_quantile(1.0 - q);
}

namespace {

// P(a, x), or Q(a, x) = 1 - P(a, x) when `upper`: the series where it converges fast (x < a + 1)
// and the continued fraction elsewhere, each computing its own side directly.
double regularized_gamma(double a, double x, bool upper) {
  if (!(a > 0.0) || !(x >= 0.0))
    raise<invalid_argument>("stats.special_functions", "{}: need a > 0 and x >= 0 (a = {}, x = {})",
                            upper ? "gamma_q" : "gamma_p", a, x);
  if (x == 0.0) return upper ? 1.0 : 0.0;
  if (std::isinf(x)) return upper ? 0.0 : 1.0;
  const double pre = std::exp(log_gamma_prefactor(a, x));
  if (x < a + 1.0) {
    const double p = pre * gamma_series(a, x);
    return upper ? 1.0 - p : p;
  }
  const double q = pre * gamma_fraction(a, x);
  return upper ? q : 1.0 - q;
}

}  // namespace

double gamma_p(double a, double x) {
  return regularized_gamma(a, x, false);
}

double gamma_q(double a, double x) {
  return regularized_gamma(a, x, true);
}

double beta_inc(double a, double b, double x) {
  if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0 && x <= 1.0)) {
    raise<invalid_argument>("stats.special_functions",
                            "beta_inc: need a, b > 0 and x in [0, 1] (a = {}, b = {}, x = {})", a,
                            b, x);
  }
  double lower = 0;
  double upper = 0;
  beta_pair(a, b, x, 1.0 - x, lower, upper);
  return lower;
}

double beta_inc_complement(double a, double b, double x) {
  if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0 && x <= 1.0)) {
    raise<invalid_argument>(
        "stats.special_functions",
        "beta_inc_complement: need a, b > 0 and x in [0, 1] (a = {}, b = {}, x = {})", a, b, x);
  }
  double lower = 0;
  double upper = 0;
  beta_pair(a, b, x, 1.0 - x, lower, upper);
  return upper;
}

double student_t_cdf(double t, double df) {
  check_df(df, "student_t_cdf");
  if (std::isnan(t)) return t;
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = t_upper(std::fabs(t), df);
  return t > 0 ? 1.0 - tail : tail;
}

double student_t_sf(double t, double df) {
  check_df(df, "student_t_sf");
  if (std::isnan(t)) return t;
  if (std::isinf(t)) return t > 0 ? 0.0 : 1.0;
  const double tail = t_upper(std::fabs(t), df);
  return t > 0 ? tail : 1.0 - tail;
}

double student_t_quantile(double p, double df) {
  check_probability(p, "student_t_quantile");
  check_df(df, "student_t_quantile");
  if (p == 0.0) return -inf;
  if (p == 1.0) return inf;
  if (p == 0.5) return 0.0;
  const double q = p < 0.5 ? p : 1.0 - p;  // upper tail probability to match, q < 0.5
  // Solve t_upper(s) = q for s > 0: bracket, then Newton safeguarded by bisection.
  double lo = 0.0;
  double hi = std::max(1.0, -normal_lower_quantile(q));
  while (t_upper(hi, df) > q) {
    lo = hi;
    hi *= 2.0;
    if (hi > 1e300) break;
  }
  double s = 0.5 * (lo + hi);
  for (int i = 0; i < 200; ++i) {
    const double f = t_upper(s, df) - q;
    if (f == 0.0) break;
    if (f > 0)
      lo = s;
    else
      hi = s;
    double next = s + f / t_pdf(s, df);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (std::fabs(next - s) <= 4 * eps * s) {
      s = next;
      break;
    }
    s = next;
  }
  return p < 0.5 ? -s : s;
}

double chi_square_cdf(double x, double df) {
  check_df(df, "chi_square_cdf");
  if (std::isnan(x)) raise<invalid_argument>("stats.special_functions", "chi_square_cdf: x is NaN");
  if (x <= 0.0) return 0.0;
  return gamma_p(0.5 * df, 0.5 * x);
}

double chi_square_sf(double x, double df) {
  check_df(df, "chi_square_sf");
  if (std::isnan(x)) raise<invalid_argument>("stats.special_functions", "chi_square_sf: x is NaN");
  if (x <= 0.0) return 1.0;
  return gamma_q(0.5 * df, 0.5 * x);
}

double kolmogorov_sf(double x) noexcept {
  if (std::isnan(x)) return x;
  if (x <= 0.0) return 1.0;
  if (x < 0.82) {
    // cdf = sqrt(2 pi) / x * sum_k exp(-(2k - 1)^2 pi^2 / (8 x^2)): fast for small x.
    const double w = std::numbers::pi * std::numbers::pi / (8.0 * x * x);
    double sum = 0.0;
    for (int k = 1; k < 50; ++k) {
      const double term = std::exp(-(2.0 * k - 1) * (2.0 * k - 1) * w);
      sum += term;
      if (term < eps * sum) break;
    }
    return 1.0 - std::sqrt(2.0 * std::numbers::pi) / x * sum;
  }
  double sum = 0.0;
  double sign = 1.0;
  for (int k = 1; k < 100; ++k) {
    const double term = std::exp(-2.0 * k * k * x * x);
    sum += sign * term;
    if (term < eps * 1e-3 * std::fabs(sum)) break;
    sign = -sign;
  }
  return std::min(1.0, 2.0 * sum);
}

}  // namespace funnel::stats
