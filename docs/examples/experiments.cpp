// docs/experiments.md opening example: assign users to variants, check the sample ratio, test
// the conversion difference, report the lift with its interval, and plan the next test.
#include <funnel/experiments.hpp>

#include <cstdio>
#include <string>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"  // core/random.hpp's unsigned __int128
#include <funnel/core/random.hpp>
#pragma GCC diagnostic pop

int main() {
  using namespace funnel::experiments;

  // 50/50 split of 90% of users; the same user always lands in the same variant (and in the same
  // one GrowthBook would choose for this key).
  const bucketer checkout("new-checkout", 2, {.weights = {0.5, 0.5}, .coverage = 0.9});
  funnel::rng world(3);
  double users[2] = {0, 0};
  double buyers[2] = {0, 0};
  for (int u = 0; u < 40000; ++u) {
    const auto variant = checkout.assign("user-" + std::to_string(u));
    if (!variant) continue;  // not exposed
    users[*variant] += 1;
    buyers[*variant] += world.bernoulli(*variant == 0 ? 0.100 : 0.112) ? 1 : 0;
  }

  const std::vector<double> seen{users[0], users[1]};
  const std::vector<double> weights{0.5, 0.5};
  const auto srm = srm_check(seen, weights);
  std::printf("SRM check: chi2 = %.3f, p = %.4f -> %s\n", srm.test.statistic, srm.test.p_value,
              srm.mismatch ? "MISMATCH, do not trust the results" : "ok");

  const auto z = two_proportion_ztest(buyers[0], users[0], buyers[1], users[1]);
  std::printf("conversion %.4f -> %.4f, z = %.3f, p = %.5f\n", buyers[0] / users[0],
              buyers[1] / users[1], z.statistic, z.p_value);

  const auto pa = buyers[0] / users[0];
  const auto pb = buyers[1] / users[1];
  const sample_summary a{users[0], pa, pa * (1 - pa)};
  const sample_summary b{users[1], pb, pb * (1 - pb)};
  const auto rel = relative_lift(a, b, 0.95);
  std::printf("relative lift %.1f%% [%.1f%%, %.1f%%]\n", 100 * rel.estimate, 100 * rel.lower,
              100 * rel.upper);

  const double n = sample_size_two_proportions(0.10, 0.105, 0.05, 0.8);
  std::printf("to detect 10.0%% -> 10.5%% at 80%% power: %.0f users per variant\n", n);
  return !srm.mismatch && z.p_value < 0.05 ? 0 : 1;
}
