// docs/bandits.md opening example: Thompson sampling over three arms, logged propensities, an
// off-policy estimate of a different policy from those logs, and a save/load round trip.
#include <funnel/bandits.hpp>

#include <cstdio>
#include <filesystem>
#include <vector>

int main() {
  using namespace funnel::bandits;

  mab_options config;
  config.kind = policy_kind::thompson_bernoulli;
  config.seed = 42;
  mab policy(config);
  policy.add_arm(1);
  policy.add_arm(2);
  policy.add_arm(3, {20.0, 6.0, 6.0});  // warm start: 6 clicks in 20 views seen elsewhere

  const double click_rate[] = {0.0, 0.04, 0.06, 0.30};  // unknown to the policy
  funnel::rng world(7);
  std::vector<logged_decision> logs;
  for (int request = 0; request < 20000; ++request) {
    const decision d = policy.select();  // {arm, propensity}
    const double reward = world.bernoulli(click_rate[d.arm]) ? 1.0 : 0.0;
    policy.update(d.arm, reward);
    // Log for off-policy evaluation of "always show arm 2".
    logs.push_back({reward, d.propensity, d.arm == 2 ? 1.0 : 0.0, 0.0, 0.0});
  }

  for (const auto& arm : policy.arms()) {
    std::printf("arm %llu: %6.0f plays, mean %.3f\n", static_cast<unsigned long long>(arm.id),
                arm.n, arm.mean);
  }
  const auto estimate = snips(logs);
  std::printf("SNIPS value of 'always arm 2': %.3f +- %.3f (effective n %.0f)\n", estimate.value,
              estimate.std_error, estimate.effective_sample_size);

  const auto path = std::filesystem::temp_directory_path() / "funnel-doc-bandit.json";
  policy.save(path);
  mab restored = mab::load(path);
  const bool same = restored.select().arm == policy.select().arm;
  std::filesystem::remove(path);
  std::printf("restored policy continues identically: %s\n", same ? "yes" : "no");
  return policy.arms()[2].n > 15000 && same ? 0 : 1;
}
