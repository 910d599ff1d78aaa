// Throughput of one select + update on a single core and with two threads sharing one policy.
// Targets (issue 9): Thompson (K = 10) >= 1M/s, UCB1 >= 5M/s, LinUCB (d = 6, K = 20) >= 0.5M/s.
#include <funnel/bandits.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

using namespace funnel::bandits;

namespace {

// Precomputed 0/1 rewards so the benchmark measures the policy, not the environment.
const std::vector<double>& rewards() {
  static const std::vector<double> r = [] {
    funnel::rng g(1);
    std::vector<double> v(1 << 16);
    for (auto& x : v) x = g.bernoulli(0.45) ? 1.0 : 0.0;
    return v;
  }();
  return r;
}

const std::vector<float>& contexts() {  // 1024 contexts of dimension 6
  static const std::vector<float> c = [] {
    funnel::rng g(2);
    std::vector<float> v(1024 * 6);
    for (auto& x : v) x = static_cast<float>(g.uniform());
    return v;
  }();
  return c;
}

mab make_mab(policy_kind kind, std::size_t k) {
  mab_options c;
  c.kind = kind;
  mab m(c);
  for (arm_id a = 0; a < k; ++a) m.add_arm(a);
  return m;
}

linear_bandit make_linucb() {
  linear_bandit_options c;
  c.dimension = 6;
  linear_bandit b(c);
  for (arm_id a = 0; a < 20; ++a) b.add_arm(a);
  return b;
}

void single(benchmark::State& state, policy_kind kind) {
  auto m = make_mab(kind, 10);
  const auto& r = rewards();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto d = m.select();
    m.update(d.arm, r[i++ & 0xffff]);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_thompson_k10(benchmark::State& s) {
  single(s, policy_kind::thompson_bernoulli);
}
void BM_ucb1_k10(benchmark::State& s) {
  single(s, policy_kind::ucb1);
}
void BM_epsilon_greedy_k10(benchmark::State& s) {
  single(s, policy_kind::epsilon_greedy);
}

void BM_linucb_d6_k20(benchmark::State& state) {
  auto b = make_linucb();
  const auto& c = contexts();
  const auto& r = rewards();
  std::size_t i = 0;
  for (auto _ : state) {
    const funnel::row_view x(c.data() + 6 * (i & 1023), 6);
    const auto d = b.select(x);
    b.update(d.arm, x, r[i & 0xffff]);
    ++i;
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Two threads sharing one policy through shared_policy (reader-writer lock).
template <policy_kind Kind>
void BM_shared(benchmark::State& state) {
  static std::unique_ptr<shared_policy<mab>> shared;
  if (state.thread_index() == 0) shared = std::make_unique<shared_policy<mab>>(make_mab(Kind, 10));
  funnel::rng g(static_cast<std::uint64_t>(state.thread_index()) + 7);
  const auto& r = rewards();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 977;
  for (auto _ : state) {
    const auto d = shared->select(g);
    shared->update(d.arm, r[i++ & 0xffff]);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_shared_linucb(benchmark::State& state) {
  static std::unique_ptr<shared_policy<linear_bandit>> shared;
  if (state.thread_index() == 0)
    shared = std::make_unique<shared_policy<linear_bandit>>(make_linucb());
  funnel::rng g(static_cast<std::uint64_t>(state.thread_index()) + 7);
  const auto& c = contexts();
  const auto& r = rewards();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 977;
  for (auto _ : state) {
    const funnel::row_view x(c.data() + 6 * (i & 1023), 6);
    const auto d = shared->select(x, g);
    shared->update(d.arm, x, r[i & 0xffff]);
    ++i;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Two threads, each with its own replica (no lock on the hot path), merged every 4096 steps.
void BM_replicas_thompson(benchmark::State& state) {
  static std::unique_ptr<shared_policy<mab>> shared;
  if (state.thread_index() == 0)
    shared = std::make_unique<shared_policy<mab>>(make_mab(policy_kind::thompson_bernoulli, 10));
  auto local = shared->replica(static_cast<std::uint64_t>(state.thread_index()) + 1);
  const auto& r = rewards();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto d = local.select();
    local.update(d.arm, r[i++ & 0xffff]);
    if ((i & 4095) == 0) {
      shared->merge(local);
      local = shared->replica(i + static_cast<std::uint64_t>(state.thread_index()));
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK(BM_thompson_k10)->MinTime(1.0);
BENCHMARK(BM_ucb1_k10)->MinTime(1.0);
BENCHMARK(BM_epsilon_greedy_k10)->MinTime(1.0);
BENCHMARK(BM_linucb_d6_k20)->MinTime(1.0);
BENCHMARK(BM_shared<policy_kind::thompson_bernoulli>)->Threads(2)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_shared<policy_kind::ucb1>)->Threads(2)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_shared_linucb)->Threads(2)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_replicas_thompson)->Threads(2)->UseRealTime()->MinTime(1.0);

BENCHMARK_MAIN();
