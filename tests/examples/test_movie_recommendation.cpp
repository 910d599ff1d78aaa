// Smoke test of the flagship example on a synthetic log with planted structure (MovieLens may
// not be committed): each user prefers one genre, so a system that learns tastes must beat
// popularity, and genre re-ranking must diversify the slate.
#include <algorithm>
#include <cmath>

#include "funnel_catch.hpp"
#include "recommender.hpp"

namespace {

const movie::report& synthetic_run() {
  static const movie::report r = [] {
    const auto d = movie::synthetic_dataset(/*users=*/240, /*items=*/400, /*genres=*/8,
                                            /*per_user=*/20, /*seed=*/11);
    movie::options opt;
    opt.als_factors = 16;
    opt.als_iterations = 6;
    opt.als_regularization = 1.0;
    opt.quota = 60;
    opt.hnsw_ef = 0;  // search with ef = k: a real approximation even on 400 items
    return movie::run_experiment(d, opt);
  }();
  return r;
}

const movie::stage_quality& stage(const movie::split_report& s, std::string_view prefix) {
  for (const auto& st : s.stages)
    if (st.stage.rfind(prefix, 0) == 0) return st;
  FAIL("no stage " << prefix);
  return s.stages.front();
}

}  // namespace

TEST_CASE("movie example: on a planted-taste log the ranked slate beats popularity") {
  const auto& r = synthetic_run();
  REQUIRE(!r.splits.empty());
  const auto& s = r.splits.front();
  REQUIRE(s.protocol == "temporal");
  REQUIRE(s.eval_users > 100);
  const auto& pop = stage(s, "popularity");
  const auto& ranked = stage(s, "ranked (GBDT)");
  INFO(movie::format_report(r, 20));
  CHECK(ranked.ndcg > 1.5 * pop.ndcg);
  CHECK(ranked.recall > 1.5 * pop.recall);
  CHECK(stage(s, "ALS").ndcg > pop.ndcg);
  CHECK(s.candidate_recall > 0.5);
  CHECK(s.ranker_rows > 0);
}

TEST_CASE("movie example: genre re-ranking adds genres to the slate at a bounded cost") {
  const auto& r = synthetic_run();
  const auto& s = r.splits.front();
  INFO(movie::format_report(r, 20));
  CHECK(s.genres_per_slate_reranked > s.genres_per_slate_ranked);
  CHECK(stage(s, "re-ranked").ndcg > stage(s, "popularity").ndcg);
  CHECK(s.p99_ms >= s.p50_ms);
}

TEST_CASE("movie example: ALS through the HNSW index finds what exact ALS finds") {
  const auto& r = synthetic_run();
  const auto& s = r.splits.front();
  INFO(movie::format_report(r, 20));
  CHECK(s.ann_recall_k >= 0.95);
  CHECK(s.ann_recall_quota >= 0.95);
  CHECK(s.ann_recall_k <= 1.0);
  const auto& exact = stage(s, "ALS alone (exact)");
  const auto& ann = stage(s, "ALS via HNSW");
  CHECK(ann.recall >= 0.95 * exact.recall);
  CHECK(ann.ndcg >= 0.95 * exact.ndcg);
}

TEST_CASE("movie example: the features pipeline ranker keeps the hand-written ranker's quality") {
  const auto& r = synthetic_run();
  const auto& s = r.splits.front();
  INFO(movie::format_report(r, 20));
  // 13 raw columns become more outputs (indicators, one-hot genres, the hashed cross).
  CHECK(s.feature_count > 13);
  CHECK(stage(s, "ranked (GBDT)").ndcg >= 0.9 * stage(s, "ranked (GBDT, hand").ndcg);
  CHECK(stage(s, "ranked (logistic)").ndcg > stage(s, "popularity").ndcg);
}

TEST_CASE("movie example: the exploration bandit logs a valid propensity for every decision") {
  const auto& r = synthetic_run();
  const auto& s = r.splits.front();
  const auto& ex = s.exploration;
  INFO(movie::format_report(r, 20));
  CHECK(ex.decisions == s.eval_users);
  CHECK(ex.min_propensity > 0.0);
  CHECK(ex.max_propensity <= 1.0);
  CHECK(ex.min_propensity <= ex.max_propensity);
  REQUIRE(ex.arms.size() == 4);
  std::size_t pulls = 0;
  double p = 0;
  for (const auto& a : ex.arms) {
    pulls += a.pulls;
    p += a.propensity;
    CHECK(a.mean_reward >= 0.0);
    CHECK(a.mean_reward <= 1.0);
  }
  CHECK(pulls == ex.decisions);
  CHECK_THAT(p, WithinAbs(1.0, 1e-9));  // epsilon-greedy propensities are exact
  // Epsilon-greedy (epsilon 0.2, 4 arms) now exploits the band with the best mean reward with
  // probability 1 - 0.2 + 0.2 / 4 and explores each other band with 0.2 / 4.
  const auto greedy =
      std::max_element(ex.arms.begin(), ex.arms.end(),
                       [](const auto& a, const auto& b) { return a.propensity < b.propensity; });
  CHECK_THAT(greedy->propensity, WithinAbs(0.85, 1e-12));
  for (const auto& a : ex.arms) {
    CHECK(a.mean_reward <= greedy->mean_reward);
    if (&a != &*greedy) CHECK_THAT(a.propensity, WithinAbs(0.05, 1e-12));
  }
  // The smallest possible propensity: an item of the widest band (15 items) while its arm is
  // not greedy, 0.05 / 15 (bands clipped to a shorter pool only make propensities larger).
  CHECK(ex.min_propensity >= 0.05 / 15 - 1e-12);
  // The logged propensities support off-policy evaluation: estimated from the bandit's logs
  // alone, the uniform slot's hit rate agrees with the rate measured by serving it.
  CHECK(ex.ips_std_error > 0.0);
  CHECK(std::abs(ex.ips_uniform - ex.slot_hit_rate_uniform) <= 4 * ex.ips_std_error + 0.01);
  // Exploration costs little: the served slate stays well above popularity.
  CHECK(stage(s, "+ bandit exploration").ndcg > 1.5 * stage(s, "popularity").ndcg);
}

TEST_CASE("movie example: latency is traced per pipeline stage") {
  const auto& s = synthetic_run().splits.front();
  REQUIRE(!s.latency_by_stage.empty());
  bool has_rank = false, has_ann = false;
  for (const auto& l : s.latency_by_stage) {
    CHECK(l.p99_ms >= l.p50_ms);
    has_rank = has_rank || l.stage.find("rank") != std::string::npos;
    has_ann = has_ann || l.stage.find("als-hnsw") != std::string::npos;
  }
  CHECK(has_rank);
  CHECK(has_ann);
}

TEST_CASE("movie example: the reports carry the figures") {
  const auto& r = synthetic_run();
  const auto text = movie::format_report(r, 20);
  CHECK_THAT(text, ContainsSubstring("recall@20"));
  CHECK_THAT(text, ContainsSubstring("ranked (GBDT)"));
  CHECK_THAT(text, ContainsSubstring("HNSW vs exact ALS"));
  CHECK_THAT(text, ContainsSubstring("exploration slot"));
  const auto html = movie::html_report(r, 20);
  CHECK_THAT(html, ContainsSubstring("<table>"));
  CHECK_THAT(html, ContainsSubstring("Rating drift"));
  CHECK_THAT(html, ContainsSubstring("Exploration slot"));
}

TEST_CASE("movie example: synthetic_dataset rejects sizes it cannot fill") {
  CHECK_THROWS_AS(movie::synthetic_dataset(10, 10, 5, 20, 1), funnel::invalid_argument);
}
