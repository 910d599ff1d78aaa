// funnel::metrics::recall_at_k (moved from funnel::retrieval in 0.2).
#include <funnel/metrics/retrieval.hpp>
#include <funnel/retrieval/filter.hpp>

#include <vector>

#include "funnel_catch.hpp"

using funnel::candidate_list;
namespace m = funnel::metrics;

TEST_CASE("recall_at_k: counts overlap of the first k and handles short truth") {
  const std::vector<candidate_list> truth = {{{1, 0}, {2, 0}, {3, 0}}, {{4, 0}}, {}};
  const std::vector<candidate_list> found = {{{3, 0}, {9, 0}, {1, 0}}, {{5, 0}, {4, 0}}, {{7, 0}}};
  // query 0: {1,3} of {1,2,3} -> 2/3; query 1: k=2 -> {4} found -> 1; query 2: empty truth -> 1.
  CHECK_THAT(m::recall_at_k(found, truth, 3), WithinAbs((2.0 / 3.0 + 1.0 + 1.0) / 3.0, 1e-12));
  CHECK_THAT(m::recall_at_k(found, truth, 1), WithinAbs((0.0 + 0.0 + 1.0) / 3.0, 1e-12));
  CHECK_THROWS_AS(m::recall_at_k(found, std::span(truth).first(2), 3), funnel::dimension_mismatch);
}

TEST_CASE("recall_at_k: errors carry the metrics id; the retrieval name still resolves to it") {
  const std::vector<candidate_list> one(1);
  CHECK_THROWS_WITH(m::recall_at_k(one, {}, 3),
                    ContainsSubstring("[funnel.dimension_mismatch.metrics.recall_at_k]"));
  // Kept for 0.2 only: funnel::retrieval::recall_at_k is the same function.
  double (*old_name)(std::span<const candidate_list>, std::span<const candidate_list>,
                     std::size_t) = &funnel::retrieval::recall_at_k;
  CHECK(old_name == &m::recall_at_k);
}
