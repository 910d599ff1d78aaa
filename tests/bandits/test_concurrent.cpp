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

TEST_CASE("concurrent: LinUCB shared by threads", "[concurrency]") {
  linear_bandit_options c;
  c.dimension = 4;
  linear_bandit b(c);
  for (arm_id a = 0; a < 6; ++a) b.add_arm(a);
  shared_policy<linear_bandit> shared(std::move(b));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&shared, t] {
      funnel::rng g(static_cast<std::uint64_t>(t) + 3);
      std::vector<float> x(4);
      for (int i = 0; i < 1000; ++i) {
        for (auto& v : x) v = static_cast<float>(g.uniform());
        const auto d = shared.select(x, g);
        shared.update(d.arm, x, x[d.arm % 4]);
      }
    });
  }
  for (auto& th : threads) th.join();
  funnel::rng g(1);
  const std::vector<float> x{0.9f, 0.1f, 0.1f, 0.1f};
  CHECK(shared.select(x, g).arm % 4 == 0);
}
