// Smoke test of the flagship example on a synthetic log with planted structure (MovieLens may
// not be committed): each user prefers one genre, so a system that learns tastes must beat
// popularity, and genre re-ranking must diversify the slate.
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

TEST_CASE("movie example: the reports carry the figures") {
  const auto& r = synthetic_run();
  const auto text = movie::format_report(r, 20);
  CHECK_THAT(text, ContainsSubstring("recall@20"));
  CHECK_THAT(text, ContainsSubstring("ranked (GBDT)"));
  const auto html = movie::html_report(r, 20);
  CHECK_THAT(html, ContainsSubstring("<table>"));
  CHECK_THAT(html, ContainsSubstring("Rating drift"));
}

TEST_CASE("movie example: synthetic_dataset rejects sizes it cannot fill") {
  CHECK_THROWS_AS(movie::synthetic_dataset(10, 10, 5, 20, 1), funnel::invalid_argument);
}
