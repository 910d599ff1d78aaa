#include <funnel/bandits.hpp>

#include <cmath>
#include <vector>

#include "funnel_catch.hpp"

using namespace funnel::bandits;

TEST_CASE("ope: IPS, SNIPS and DR recover a target policy's value from uniform logs") {
  // Logging policy: uniform over 3 arms. Target: always arm 2 (true value 0.7).
  const double p[] = {0.2, 0.4, 0.7};
  funnel::rng g(13);
  std::vector<logged_decision> logs;
  for (int i = 0; i < 30000; ++i) {
    const auto a = static_cast<std::size_t>(g.below(3));
    const double r = g.bernoulli(p[a]) ? 1.0 : 0.0;
    logged_decision l;
    l.reward = r;
    l.logging_propensity = 1.0 / 3.0;
    l.target_probability = a == 2 ? 1.0 : 0.0;
    l.predicted_reward = p[a] - 0.05;  // a slightly biased reward model
    l.predicted_value = p[2] - 0.05;
    logs.push_back(l);
  }
  const auto e_ips = ips(logs);
  const auto e_snips = snips(logs);
  const auto e_dr = doubly_robust(logs);
  for (const auto& e : {e_ips, e_snips, e_dr}) {
    CHECK(std::fabs(e.value - 0.7) < 4 * e.std_error);
    CHECK(e.std_error > 0.0);
    CHECK(e.std_error < 0.02);
  }
  CHECK(e_snips.std_error < e_ips.std_error);  // self-normalisation removes the weight noise
  CHECK(e_dr.std_error < e_ips.std_error);     // the reward model absorbs most of the variance
  CHECK_THAT(e_ips.effective_sample_size, WithinRel(10000.0, 0.05));
}

TEST_CASE("ope: a bandit's logged propensities evaluate another policy without bias") {
  // Log with epsilon-greedy (its exact propensities), evaluate uniform random.
  mab_options c;
  c.kind = policy_kind::epsilon_greedy;
  c.epsilon = 0.3;
  mab m(c);
  for (arm_id a = 0; a < 4; ++a) m.add_arm(a);
  const double p[] = {0.1, 0.3, 0.5, 0.2};
  funnel::rng g(17);
  std::vector<logged_decision> logs;
  for (int i = 0; i < 40000; ++i) {
    const auto d = m.select();
    const double r = g.bernoulli(p[d.arm]) ? 1.0 : 0.0;
    m.update(d.arm, r);
    logs.push_back({r, d.propensity, 0.25, 0.0, 0.0});
  }
  const auto e = snips(logs);
  CHECK(std::fabs(e.value - 0.275) < 4 * e.std_error);
}

TEST_CASE("ope: invalid logs are rejected naming the row") {
  std::vector<logged_decision> logs(3, {1.0, 0.5, 0.5, 0.0, 0.0});
  logs[1].logging_propensity = 0.0;
  CHECK_THROWS_WITH(ips(logs), ContainsSubstring("logs[1].logging_propensity"));
  logs[1].logging_propensity = 0.5;
  logs[2].target_probability = 1.5;
  CHECK_THROWS_AS(doubly_robust(logs), funnel::invalid_argument);
  CHECK_THROWS_AS(ips(std::span<const logged_decision>{}), funnel::invalid_argument);
  std::vector<logged_decision> zero(2, {1.0, 0.5, 0.0, 0.0, 0.0});
  CHECK_THROWS_AS(snips(zero), funnel::invalid_argument);
}
