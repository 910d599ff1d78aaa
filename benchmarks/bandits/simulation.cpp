// Reproduces the simulation of Chapelle & Li, "An Empirical Evaluation of Thompson Sampling"
// (NIPS 2011), section 3: K = 10 Bernoulli arms, the best with p = 0.5, the others 0.4, horizon
// T, averaged over independent runs; Thompson sampling (Beta(1, 1) prior) against UCB1 (Auer et
// al. 2002), both through funnel::bandits::mab's public API. Also the delayed setting of their
// section 3 (feedback delivered in batches every `delay` steps, via update_batch).
//
// Regret is the expected (pseudo-)regret sum_t (mu* - mu_{a_t}); the Lai-Robbins asymptotic lower
// bound is ln(T) * sum_{i != *} (mu* - mu_i) / KL(mu_i, mu*).
//
// usage: bench_bandits_simulation [runs=100] [horizon=1000000] [threads=2] [delays=1,10,100,1000]
//                                 [best_arm=9]
// best_arm is the index of the p = 0.5 arm. UCB1 plays unplayed arms in index order, so best_arm =
// 0 hands UCB1 the first round (and, with delayed feedback, the whole first batch) for free; the
// default puts the best arm last.
#include <funnel/bandits.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace funnel::bandits;

namespace {

constexpr std::size_t arms = 10;
const double best_p = 0.5;
const double other_p = 0.4;

double kl(double p, double q) {
  return p * std::log(p / q) + (1 - p) * std::log((1 - p) / (1 - q));
}

// Regret at each checkpoint for one run.
std::vector<double> run(policy_kind kind, std::uint64_t seed, std::size_t horizon,
                        std::size_t delay, arm_id best_arm,
                        const std::vector<std::size_t>& checkpoints) {
  mab_options c;
  c.kind = kind;
  c.seed = seed * 2654435761ULL + 17;
  c.propensity_samples = 100;  // propensities are not used here; keep their refresh cheap
  mab m(c);
  for (arm_id a = 0; a < arms; ++a) m.add_arm(a);
  funnel::rng world(seed * 97 + 5);
  std::vector<std::pair<arm_id, double>> pending;
  pending.reserve(delay);
  std::vector<double> out;
  double regret = 0.0;
  std::size_t next = 0;
  for (std::size_t t = 1; t <= horizon; ++t) {
    const auto d = m.select();
    const double p = d.arm == best_arm ? best_p : other_p;
    regret += best_p - p;
    const double r = world.uniform() < p ? 1.0 : 0.0;
    if (delay <= 1) {
      m.update(d.arm, r);
    } else {
      pending.emplace_back(d.arm, r);
      if (pending.size() == delay) {
        m.update_batch(pending);
        pending.clear();
      }
    }
    if (next < checkpoints.size() && t == checkpoints[next]) {
      out.push_back(regret);
      ++next;
    }
  }
  return out;
}

struct summary {
  std::vector<double> mean, se;
};

summary simulate(policy_kind kind, std::size_t runs, std::size_t horizon, std::size_t delay,
                 std::size_t threads, arm_id best_arm,
                 const std::vector<std::size_t>& checkpoints) {
  std::vector<std::vector<double>> results(runs);
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (std::size_t r = next++; r < runs; r = next++)
        results[r] = run(kind, r + 1, horizon, delay, best_arm, checkpoints);
    });
  }
  for (auto& th : pool) th.join();
  summary s;
  for (std::size_t c = 0; c < checkpoints.size(); ++c) {
    double sum = 0, sum_sq = 0;
    for (const auto& r : results) {
      sum += r[c];
      sum_sq += r[c] * r[c];
    }
    const double n = static_cast<double>(runs);
    const double mean = sum / n;
    const double var = runs > 1 ? (sum_sq - n * mean * mean) / (n - 1) : 0.0;
    s.mean.push_back(mean);
    s.se.push_back(std::sqrt(std::max(var, 0.0) / n));
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t runs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
  const std::size_t horizon = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000000;
  const std::size_t threads = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 2;
  std::vector<std::size_t> delays{1, 10, 100, 1000};
  if (argc > 4) {
    delays.clear();
    std::stringstream ss(argv[4]);
    std::string item;
    while (std::getline(ss, item, ',')) delays.push_back(std::stoul(item));
  }
  const arm_id best_arm = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : arms - 1;
  if (best_arm >= arms) {
    std::fprintf(stderr, "best_arm must be < %zu\n", arms);
    return 2;
  }
  std::vector<std::size_t> checkpoints;
  for (std::size_t t = 1000; t <= horizon; t *= 10) checkpoints.push_back(t);
  if (checkpoints.empty() || checkpoints.back() != horizon) checkpoints.push_back(horizon);

  const double per_log = static_cast<double>(arms - 1) * (best_p - other_p) / kl(other_p, best_p);
  std::printf(
      "# Chapelle & Li (2011) simulation: K = %zu, p* = %.2f, others %.2f, %zu runs, T = %zu\n",
      arms, best_p, other_p, runs, horizon);
  std::printf("# best arm index: %llu\n", static_cast<unsigned long long>(best_arm));
  std::printf("# Lai-Robbins: regret >= %.3f ln T asymptotically\n\n", per_log);
  for (const std::size_t delay : delays) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto ts = simulate(policy_kind::thompson_bernoulli, runs, horizon, delay, threads,
                             best_arm, checkpoints);
    const auto ucb =
        simulate(policy_kind::ucb1, runs, horizon, delay, threads, best_arm, checkpoints);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("## delay %zu (feedback in batches of %zu)  [%.1f s]\n\n", delay, delay, secs);
    std::printf(
        "| T | Thompson regret (mean +- se) | UCB1 regret (mean +- se) | TS / UCB | UCB / TS | "
        "Lai-Robbins bound | TS / bound |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (std::size_t c = 0; c < checkpoints.size(); ++c) {
      const double bound = per_log * std::log(static_cast<double>(checkpoints[c]));
      std::printf("| %zu | %.1f +- %.1f | %.1f +- %.1f | %.3f | %.2f | %.1f | %.2f |\n",
                  checkpoints[c], ts.mean[c], ts.se[c], ucb.mean[c], ucb.se[c],
                  ts.mean[c] / ucb.mean[c], ucb.mean[c] / ts.mean[c], bound, ts.mean[c] / bound);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
