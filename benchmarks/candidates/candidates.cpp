// Candidate generators evaluated on MovieLens with a temporal split, and ALS / fold-in speed.
//
//   bench_candidates [movielens.csv]      (default ../shared/data/movielens.csv)
//
// MovieLens is never committed: get it from Debian's r-cran-dslabs (see README).
#include <funnel/core.hpp>
#include <funnel/retrieval/als.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/popularity.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <unordered_map>
#include <unordered_set>

using namespace funnel::retrieval;

namespace {

struct quality {
  double recall = 0;
  double ndcg = 0;
  std::set<std::uint64_t> recommended;
  std::size_t users = 0;
};

/// recall@k = hits / |relevant|; NDCG@k with binary gains (ideal: min(k, |relevant|) hits on top).
void score_list(const funnel::candidate_list& got,
                const std::unordered_set<std::uint64_t>& relevant, std::size_t k, quality& q) {
  double hits = 0;
  double dcg = 0;
  for (std::size_t r = 0; r < got.size() && r < k; ++r) {
    q.recommended.insert(got[r].id);
    if (relevant.contains(got[r].id)) {
      hits += 1;
      dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    }
  }
  double idcg = 0;
  for (std::size_t r = 0; r < std::min(k, relevant.size()); ++r)
    idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  q.recall += hits / static_cast<double>(relevant.size());
  q.ndcg += dcg / idcg;
  q.users += 1;
}

interaction_log synthetic(std::size_t users, std::size_t items, std::size_t n, std::uint64_t seed) {
  funnel::rng r(seed);
  interaction_log log;
  // Zipf-like item popularity through a power of a uniform draw.
  for (std::size_t k = 0; k < n; ++k) {
    const auto u = r.below(users);
    const auto i =
        static_cast<std::uint64_t>(std::pow(r.uniform(), 2.0) * static_cast<double>(items));
    log.add(u, i, 1.0F, static_cast<std::int64_t>(k));
  }
  return log;
}

struct models {
  als_model als;
  covisitation_model covis;
  popularity_model pop;
};

models fit_all(const interaction_log& train, const als_options& ao) {
  covisitation_options co;
  co.window = 3600;
  co.max_lag = 20;
  popularity_options po;
  po.half_life = 180.0 * 24 * 3600;
  return {fit_als(train, ao), fit_covisitation(train, co), fit_popularity(train, po)};
}

/// Evaluates each generator on users with a training history and unseen relevant test items.
void evaluate(const char* protocol, const interaction_log& log, const interaction_log& train,
              const interaction_log& test, const models& m) {
  std::vector<std::vector<std::pair<std::int64_t, std::uint64_t>>> hist(log.num_users());
  for (const auto& r : train.interactions())
    hist[r.user].push_back({r.timestamp, log.items().external(r.item)});
  std::vector<std::unordered_set<std::uint64_t>> relevant(log.num_users());
  for (const auto& r : test.interactions()) relevant[r.user].insert(log.items().external(r.item));
  std::set<std::uint64_t> train_items;
  for (const auto& r : train.interactions()) train_items.insert(log.items().external(r.item));

  constexpr std::size_t k = 20;
  quality q_als;
  quality q_cov;
  quality q_pop;
  for (std::uint32_t u = 0; u < log.num_users(); ++u) {
    if (hist[u].empty() || relevant[u].empty()) continue;
    std::sort(hist[u].begin(), hist[u].end());
    std::vector<std::uint64_t> items;
    for (const auto& [t, id] : hist[u]) items.push_back(id);
    std::unordered_set<std::uint64_t> rel;
    for (const auto id : relevant[u]) {
      if (std::find(items.begin(), items.end(), id) == items.end()) rel.insert(id);
    }
    if (rel.empty()) continue;
    user_query q;
    q.user = log.users().external(u);
    q.history = items;
    score_list(m.als.retrieve(q, k), rel, k, q_als);
    score_list(m.covis.retrieve(q, k), rel, k, q_cov);
    score_list(m.pop.retrieve(q, k), rel, k, q_pop);
  }
  auto row = [&](const char* name, const quality& q) {
    std::printf("| %-27s | %.4f | %.4f | %.3f (%zu of %zu) |\n", name,
                q.recall / static_cast<double>(q.users), q.ndcg / static_cast<double>(q.users),
                static_cast<double>(q.recommended.size()) / static_cast<double>(train_items.size()),
                q.recommended.size(), train_items.size());
  };
  std::printf("\n%s: train %zu / test %zu interactions, %zu users evaluated\n\n", protocol,
              train.size(), test.size(), q_als.users);
  std::printf("| generator | recall@20 | NDCG@20 | catalogue coverage |\n|---|---|---|---|\n");
  row("ALS (f=64, 15 it)", q_als);
  row("co-visitation (1 h, cosine)", q_cov);
  row("popularity (180-day decay)", q_pop);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "../shared/data/movielens.csv";
  const auto log = load_interactions_csv(path);
  std::printf("MovieLens: %zu ratings, %zu users, %zu movies\n", log.size(), log.num_users(),
              log.num_items());

  als_options ao;
  ao.factors = 64;
  ao.iterations = 15;
  ao.regularization = 0.1;
  ao.alpha = 20.0;
  ao.threads = 2;

  const auto cutoff = log.time_quantile(0.8);
  const auto [train, test] = log.split_by_time(cutoff);
  evaluate("global time split (80% of interactions before the cutoff; no leakage)", log, train,
           test, fit_all(train, ao));
  const auto [train_u, test_u] = log.split_per_user(0.2);
  funnel::stopwatch w;
  const auto m = fit_all(train_u, ao);
  const double fit_seconds = w.elapsed_s();
  evaluate("per-user time split (each user's last 20%; leaks population trends)", log, train_u,
           test_u, m);
  const auto& als = m.als;
  std::printf(
      "\nfit of all three generators on the per-user train set: %.2f s (ALS %zu iterations, 2 "
      "threads)\n",
      fit_seconds, ao.iterations);
  ao.compute_loss = false;
  ao.iterations = 3;
  for (const std::size_t threads : {1, 2}) {
    ao.threads = threads;
    w.reset();
    (void)fit_als(train_u, ao);
    std::printf("  MovieLens epoch, %zu thread(s), Cholesky: %.3f s\n", threads,
                w.elapsed_s() / 3.0);
  }
  const auto big = synthetic(50000, 20000, 1000000, 1);
  for (const auto solver : {als_solver::cholesky, als_solver::conjugate_gradient}) {
    for (const std::size_t threads : {1, 2}) {
      ao.threads = threads;
      ao.solver = solver;
      w.reset();
      (void)fit_als(big, ao);
      std::printf(
          "  synthetic 1M interactions (50k users, 20k items), %zu thread(s), %s: %.3f s / epoch\n",
          threads, solver == als_solver::cholesky ? "Cholesky" : "CG(3)", w.elapsed_s() / 3.0);
    }
  }
  // Fold-in latency: one user with 50 recent items.
  std::vector<std::uint64_t> recent;
  for (std::size_t i = 0; i < 50 && i < train_u.num_items(); ++i)
    recent.push_back(log.items().external(static_cast<std::uint32_t>(i)));
  const int reps = 200;
  w.reset();
  std::size_t sink = 0;
  for (int r = 0; r < reps; ++r) sink += als.fold_in(recent)->size();
  const double fold_us = w.elapsed_us() / reps;
  user_query fq;
  fq.history = recent;
  w.reset();
  for (int r = 0; r < reps; ++r) sink += als.retrieve(fq, 20).size();
  std::printf(
      "  fold-in of a 50-item history (f=64): %.1f us; fold-in + exact top-20 over %zu items: %.1f "
      "us (%zu)\n",
      fold_us, train_u.num_items(), w.elapsed_us() / reps, sink % 7);
  return 0;
}
