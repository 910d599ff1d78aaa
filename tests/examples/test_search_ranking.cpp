// Smoke test of the search-ranking example on its committed data (examples/search_ranking/data,
// LightGBM's lambdarank example, MIT) and the committed LightGBM model: the imported model must
// reproduce LightGBM's own NDCG, funnel's LambdaMART must come close to it, and the cascade must
// degrade to exactly the expensive model when it scores every document.
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/scoring/lightgbm.hpp>

#include <string>

#include "funnel_catch.hpp"
#include "search.hpp"

namespace {

std::filesystem::path example_data(const std::string& name) {
  return funnel::test::data_dir().parent_path().parent_path() / "examples" / "search_ranking" /
         "data" / name;
}

const funnel::scoring::tree_ensemble& lightgbm() {
  static const auto m =
      funnel::scoring::load_lightgbm(funnel::test::data("trees/lightgbm/lambdarank/model.txt"));
  return m;
}

const search_rank::ranking_set& train() {
  static const auto s = search_rank::load_ranking(
      example_data("rank.train.gz"), example_data("rank.train.query"), lightgbm().num_features());
  return s;
}

const search_rank::ranking_set& test() {
  static const auto s = search_rank::load_ranking(
      example_data("rank.test.gz"), example_data("rank.test.query"), train().features.cols());
  return s;
}

const search_rank::report& run() {
  static const auto r = [] {
    search_rank::options opt;
    opt.rounds = 20;  // the example trains 50; 20 keeps the test short under sanitizers
    opt.cascade_n = {3, 0};
    opt.latency_repeats = 2;
    return search_rank::run(train(), test(), lightgbm(), opt);
  }();
  return r;
}

const search_rank::stage_quality& stage(std::string_view prefix) {
  for (const auto& s : run().stages)
    if (s.stage.rfind(prefix, 0) == 0) return s;
  FAIL("no stage " << prefix);
  return run().stages.front();
}

}  // namespace

TEST_CASE("search example: the committed data has LightGBM's query groups") {
  CHECK(train().rows() == 3005);
  CHECK(train().queries() == 201);
  CHECK(test().rows() == 768);
  CHECK(test().queries() == 50);
  CHECK(test().features.cols() == train().features.cols());
  const auto part = test().slice_queries(10, 20);
  CHECK(part.queries() == 10);
  CHECK(part.relevance.front() == test().relevance[test().group_begin[10]]);
}

TEST_CASE("search example: the imported LightGBM model reproduces LightGBM's own test NDCG") {
  // LightGBM's train.log after iteration 50 (valid_1 = rank.test), computed by LightGBM itself.
  const auto s = search_rank::score_all(lightgbm(), test());
  CHECK_THAT(search_rank::ndcg(test(), s, 1), WithinAbs(0.653143, 1e-6));
  CHECK_THAT(search_rank::ndcg(test(), s, 3), WithinAbs(0.615548, 1e-6));
  CHECK_THAT(search_rank::ndcg(test(), s, 5), WithinAbs(0.650294, 1e-6));
  CHECK_THAT(search_rank::ndcg(test(), s, 10), WithinAbs(0.728917, 1e-6));
}

TEST_CASE("search example: funnel's LambdaMART ranks within 0.03 NDCG@10 of LightGBM's models") {
  INFO(search_rank::format_report(run()));
  const auto& ours = stage("funnel LambdaMART");
  const auto& theirs = stage("LightGBM");
  const auto& unranked = stage("unranked");
  CHECK(std::abs(ours.ndcg10 - theirs.ndcg10) < 0.03);
  // LightGBM's own test NDCG@10 after 20 iterations of the same training (its train.log).
  CHECK(std::abs(ours.ndcg10 - 0.719275) < 0.03);
  CHECK(ours.ndcg10 > unranked.ndcg10 + 0.1);
  CHECK(ours.ndcg5 > unranked.ndcg5 + 0.1);
  CHECK(run().funnel_trees == 20);
}

TEST_CASE("search example: the cascade on every document is exactly the expensive model") {
  const auto& r = run();
  INFO(search_rank::format_report(r));
  REQUIRE(r.cascade.size() == 2);
  const auto& top3 = r.cascade[0];
  const auto& all = r.cascade[1];
  CHECK(all.n == 0);
  CHECK(all.equals_expensive);
  // The stage figure averages NDCG over tied scores (documents with equal margins); the served
  // slate breaks such ties by document id, so the two may differ by tie handling only.
  CHECK_THAT(all.ndcg10, WithinAbs(stage("funnel LambdaMART").ndcg10, 0.005));
  CHECK(top3.expensive_docs <= 3.0);
  CHECK(top3.tree_evaluations < all.tree_evaluations);
  CHECK(top3.ndcg10 > stage("unranked").ndcg10);
}

TEST_CASE("search example: a cascade whose n covers every query serves the expensive order") {
  auto cheap = std::make_shared<const funnel::scoring::tree_ensemble>(lightgbm());
  auto part = test().slice_queries(0, 5);
  // n = 1000 exceeds every query: the served order must be a sort by the model's (float) margins.
  const auto served = search_rank::serve_cascade(part, cheap, cheap, 1000, 1);
  std::vector<float> s(part.rows());
  lightgbm().score_batch(part.features.view(), s);
  REQUIRE(served.size() == 5);
  for (std::size_t q = 0; q < served.size(); ++q) {
    const auto& order = served[q].order;
    REQUIRE(order.size() == part.groups[q]);
    for (std::size_t i = 1; i < order.size(); ++i) CHECK(s[order[i - 1]] >= s[order[i]]);
  }
  CHECK_THROWS_AS(search_rank::serve_cascade(part, cheap, cheap, 3, 0), funnel::invalid_argument);
}

TEST_CASE("search example: query sizes that do not add up to the rows are named as such") {
  const auto dir = funnel::test::scratch_dir("search-bad-query");
  funnel::write_file_atomic(dir / "q.txt", "10\n10\n");
  CHECK_THROWS_WITH(search_rank::load_ranking(example_data("rank.test.gz"), dir / "q.txt"),
                    ContainsSubstring("add up to 20 documents") && ContainsSubstring("768 rows"));
  funnel::write_file_atomic(dir / "q0.txt", "768\n0\n");
  CHECK_THROWS_WITH(search_rank::load_ranking(example_data("rank.test.gz"), dir / "q0.txt"),
                    ContainsSubstring("q0.txt:2"));
}
