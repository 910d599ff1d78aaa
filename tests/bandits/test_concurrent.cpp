#include <funnel/bandits.hpp>

#include <thread>
#include <vector>

#include "funnel_catch.hpp"

using namespace funnel::bandits;

TEST_CASE("concurrent: threads sharing one policy select and update safely", "[concurrency]") {
  for (const auto kind :
       {policy_kind::thompson_bernoulli, policy_kind::ucb1, policy_kind::epsilon_greedy}) {
    mab_options c;
    c.kind = kind;
    c.propensity_samples = 50;
    mab m(c);
    for (arm_id a = 0; a < 5; ++a) m.add_arm(a);
    shared_policy<mab> shared(std::move(m));
    const int per_thread = 3000;
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&shared, t] {
        funnel::rng g(static_cast<std::uint64_t>(t) + 1);
        for (int i = 0; i < per_thread; ++i) {
          const auto d = shared.select(g);
          shared.update(d.arm, g.bernoulli(0.1 * static_cast<double>(d.arm + 1)) ? 1.0 : 0.0);
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(shared.read([](const mab& p) { return p.updates(); }) == 3u * per_thread);
    double total = 0;
    for (const auto& a : shared.read([](const mab& p) { return p.arms(); })) total += a.n;
    CHECK(total == 3.0 * per_thread);
  }
}

TEST_CASE("concurrent: per-thread replicas merged back count every observation once",
          "[concurrency]") {
  mab_options c;
  c.kind = policy_kind::thompson_bernoulli;
  c.propensity_samples = 50;
  mab m(c);
  for (arm_id a = 0; a < 4; ++a) m.add_arm(a);
  shared_policy<mab> shared(std::move(m));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&shared, t] {
      funnel::rng world(static_cast<std::uint64_t>(t) + 10);
      for (int round = 0; round < 5; ++round) {
        auto local = shared.replica(static_cast<std::uint64_t>(100 * t + round));
        for (int i = 0; i < 400; ++i) {
          const auto d = local.select();
          local.update(d.arm, world.bernoulli(0.2 * static_cast<double>(d.arm + 1)) ? 1.0 : 0.0);
        }
        shared.merge(local);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(shared.read([](const mab& p) { return p.updates(); }) == 2u * 5u * 400u);
  double total = 0;
  for (const auto& a : shared.read([](const mab& p) { return p.arms(); })) total += a.n;
  CHECK(total == 4000.0);
}

TEST_CASE("concurrent: LinUCB shared by threads loses no update", "[concurrency]") {
  // Every update is recorded by its thread; afterwards each arm's observed sums (sum x x^T and
  // sum r x, saved in the policy's JSON) must equal the sums over all recorded updates. A lost
  // or torn update changes them by at least one |x|^2 (>= 1e-2 here), far above rounding.
  linear_bandit_options c;
  c.dimension = 4;
  linear_bandit b(c);
  for (arm_id a = 0; a < 6; ++a) b.add_arm(a);
  shared_policy<linear_bandit> shared(std::move(b));
  struct record {
    arm_id arm;
    std::vector<float> x;
    double reward;
  };
  std::vector<std::vector<record>> log(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&shared, &log, t] {
      funnel::rng g(static_cast<std::uint64_t>(t) + 3);
      std::vector<float> x(4);
      for (int i = 0; i < 1000; ++i) {
        for (auto& v : x) v = static_cast<float>(0.1 + g.uniform());
        const auto d = shared.select(x, g);
        const double r = x[d.arm % 4];
        shared.update(d.arm, x, r);
        log[static_cast<std::size_t>(t)].push_back({d.arm, x, r});
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto j = shared.read([](const linear_bandit& p) { return p.to_json(); });
  std::size_t seen_arms = 0;
  for (const auto& arm : j.at("arms")) {
    const auto id = arm.at("id").get<arm_id>();
    std::vector<double> a(16, 0.0);
    std::vector<double> bsum(4, 0.0);
    for (const auto& thread_log : log) {
      for (const auto& u : thread_log) {
        if (u.arm != id) continue;
        for (std::size_t r = 0; r < 4; ++r) {
          bsum[r] += u.reward * u.x[r];
          for (std::size_t q = 0; q < 4; ++q) a[r * 4 + q] += double{u.x[r]} * u.x[q];
        }
      }
    }
    const auto a_obs = arm.at("a_obs").get<std::vector<double>>();
    const auto b_obs = arm.at("b_obs").get<std::vector<double>>();
    REQUIRE(a_obs.size() == 16);
    REQUIRE(b_obs.size() == 4);
    for (std::size_t k = 0; k < 16; ++k) CHECK_THAT(a_obs[k], WithinAbs(a[k], 1e-6));
    for (std::size_t k = 0; k < 4; ++k) CHECK_THAT(b_obs[k], WithinAbs(bsum[k], 1e-6));
    ++seen_arms;
  }
  CHECK(seen_arms == 6);
  // And the shared policy learned: arm 0 (reward x[0]) wins for a context led by x[0].
  funnel::rng g(1);
  const std::vector<float> x{0.9f, 0.1f, 0.1f, 0.1f};
  CHECK(shared.select(x, g).arm % 4 == 0);
}
