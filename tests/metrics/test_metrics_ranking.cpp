#include <funnel/core/error.hpp>
#include <funnel/metrics/ranking.hpp>

#include <cmath>
#include <vector>

#include "funnel_catch.hpp"

namespace m = funnel::metrics;

// Hand-worked query: scores rank documents d2 > d0 > d3 > d1 > d4; relevant are d0 and d1.
TEST_CASE("ranking: precision, recall, hit rate, AP and reciprocal rank on a worked example") {
  const std::vector<float> rel{1, 2, 0, 0, 0};
  const std::vector<float> score{0.8F, 0.3F, 0.9F, 0.5F, 0.1F};
  CHECK(m::precision_at(rel, score, 2) == 0.5);        // d2, d0
  CHECK(m::precision_at(rel, score, 10) == 2.0 / 10);  // divides by k
  CHECK(m::recall_at(rel, score, 2) == 0.5);
  CHECK(m::recall_at(rel, score, 4) == 1.0);
  CHECK(m::hit_rate_at(rel, score, 1) == 0.0);
  CHECK(m::hit_rate_at(rel, score, 2) == 1.0);
  CHECK(m::reciprocal_rank(rel, score) == 0.5);
  // relevant at ranks 2 and 4: (1/2 + 2/4) / 2
  CHECK_THAT(m::average_precision_at(rel, score), WithinAbs(0.5, 1e-15));
  // AP@2: only rank 2 is in, divided by min(2, 2)
  CHECK_THAT(m::average_precision_at(rel, score, 2), WithinAbs(0.25, 1e-15));
}

TEST_CASE("ranking: NDCG of a perfect ranking is 1 and ties are averaged") {
  const std::vector<float> rel{3, 2, 0};
  CHECK_THAT(m::ndcg_at(rel, std::vector<float>{3, 2, 1}), WithinAbs(1.0, 1e-15));
  // all scores tied: every document gets the mean gain 5/3 at every position
  const double avg = 5.0 / 3.0 * (1 + 1 / std::log2(3.0) + 0.5);
  const double ideal = 3 + 2 / std::log2(3.0);
  CHECK_THAT(m::ndcg_at(rel, std::vector<float>{1, 1, 1}), WithinAbs(avg / ideal, 1e-15));
}

TEST_CASE("ranking: a query with no relevant document scores empty_query_value") {
  const std::vector<float> rel{0, 0};
  const std::vector<float> s{1, 2};
  CHECK(m::ndcg_at(rel, s) == 0.0);
  m::ndcg_options lgb;
  lgb.empty_query_value = 1.0;
  CHECK(m::ndcg_at(rel, s, 0, lgb) == 1.0);
  CHECK(m::recall_at(rel, s, 1) == 0.0);
  CHECK(m::reciprocal_rank(rel, s) == 0.0);
}

TEST_CASE("ranking: group sizes that do not add up and bad relevance name the problem") {
  const std::vector<float> rel{1, 0, 1};
  const std::vector<float> s{1, 2, 3};
  const std::vector<std::size_t> groups{2, 2};
  CHECK_THROWS_AS(m::evaluate_ranking(m::ranking_metric::ndcg, rel, s, groups),
                  funnel::dimension_mismatch);
  const std::vector<float> bad{1, -1, 0};
  const std::vector<std::size_t> g2{1, 2};
  CHECK_THROWS_WITH(m::evaluate_ranking(m::ranking_metric::mrr, bad, s, g2),
                    ContainsSubstring("query 1") && ContainsSubstring("relevance[0] = -1"));
  // query 0 = {d0}, query 1 = {d1 (relevant, score 2), d2 (irrelevant, score 3)}
  const std::vector<float> rel2{1, 1, 0};
  const auto r =
      m::evaluate_ranking(m::ranking_metric::hit_rate, rel2, s, std::vector<std::size_t>{1, 2}, 1);
  CHECK(r.per_query == std::vector<double>{1.0, 0.0});
  CHECK(r.mean == 0.5);
  // A value outside the enum (a cast from a config integer) is an error, not a silent 0.
  CHECK_THROWS_WITH(m::evaluate_ranking(static_cast<m::ranking_metric>(99), rel2, s,
                                        std::vector<std::size_t>{1, 2}),
                    ContainsSubstring("unknown ranking_metric 99"));
}
