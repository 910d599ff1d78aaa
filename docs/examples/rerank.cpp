// docs/rerank.md opening example: diversify a ranked slate with DPP, apply business rules,
// reserve an exploration slot, and print why each item moved.
#include <funnel/rerank.hpp>

#include <cstdio>
#include <vector>

namespace rr = funnel::rerank;

int main() {
  // The ranker's output, best first, and per-item attributes owned by the caller.
  const funnel::candidate_list ranked{{101, 0.95F}, {102, 0.93F}, {103, 0.90F}, {104, 0.70F},
                                      {105, 0.65F}, {106, 0.60F}, {107, 0.40F}, {108, 0.30F}};
  const std::vector<float> embeddings{1, 0,    0,    0.99F, 0.1F, 0, 0.98F, 0,    0.1F, 0, 1,    0,
                                      0, 0.9F, 0.1F, 0,     0,    1, 0.7F,  0.7F, 0,    0, 0.1F, 1};
  const std::vector<std::uint64_t> seller{1, 1, 1, 2, 2, 3, 3, 4};
  const std::vector<std::uint64_t> blocked{106};  // e.g. the user blocked this item

  rr::slate s(ranked);  // reuse one slate per thread: reset() keeps its buffers
  s.set_embeddings(funnel::matrix_view(embeddings, 8, 3));
  s.set_groups("seller", seller);

  const rr::chain rerankers(rr::block_items(),                              // business rule
                            rr::dpp({.theta = 0.7, .jitter = 1e-3}),        // diversity
                            rr::group_cap("seller", {.max_per_group = 2}),  // at most 2 per seller
                            rr::explore_slots<rr::uniform_exploration>({4}, {}, {.pool_depth = 3}),
                            rr::truncate());
  rerankers.rerank(s, {.k = 5, .seed = 42, .blocked = blocked});

  for (const auto& c : s.candidates()) std::printf("%llu ", static_cast<unsigned long long>(c.id));
  std::printf("\n%s", s.explain().c_str());

  // The exploration slot logged its propensity for off-policy evaluation.
  int explored = 0;
  for (const auto& t : s.trace()) {
    if (t.has(rr::rule::exploration)) {
      ++explored;
      if (!(t.propensity > 0.0 && t.propensity <= 1.0)) return 1;
    }
  }
  return (s.size() == 5 && explored == 1) ? 0 : 1;
}
