// docs/stats.md opening example: p-values from the distribution tails the experiments and drift
// modules use, without cancellation in the far tail.
#include <funnel/stats.hpp>

#include <cstdio>

int main() {
  using namespace funnel::stats;

  // A two-sided z-test p-value: 2 * P(Z > |z|), computed as a tail, never as 1 - cdf.
  const double z = 9.0;
  std::printf("z = %.1f: p = %.3g (1 - cdf would give %.3g)\n", z, 2 * normal_sf(z),
              2 * (1 - normal_cdf(z)));

  // Student t (fractional df, as Welch's test gives) and chi-square tails.
  std::printf("t = 2.5, df = 17.3: p = %.6f\n", 2 * student_t_sf(2.5, 17.3));
  std::printf("chi2 = 30, df = 10: p = %.6f\n", chi_square_sf(30.0, 10.0));

  // Critical values: the z for a 95% interval and the t for 5 degrees of freedom.
  std::printf("z_0.975 = %.6f, t_0.975(5) = %.6f\n", normal_quantile(0.975),
              student_t_quantile(0.975, 5.0));

  // Kolmogorov-Smirnov: the exact one-sample distribution of D_n and its limit.
  const double d = 0.12;
  std::printf("P(D_100 > %.2f) = %.6f, limit P(K > sqrt(100) d) = %.6f\n", d, kstwo_sf(d, 100),
              kolmogorov_sf(10 * d));
}
