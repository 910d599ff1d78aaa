#pragma once
// Top-k selection over dense item scores shared by the candidate generators.

#include <funnel/core/views.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace funnel::retrieval::detail {

/// Best `k` of `scores` (dense item index -> score) as candidates with external ids, best first,
/// skipping items where `excluded[i]` is set or `allow(external)` is false. Ties break by the
/// smaller dense index so results are deterministic.
template <class Allow>
candidate_list top_k(std::span<const float> scores, std::size_t k,
                     const std::vector<std::uint64_t>& externals,
                     const std::vector<unsigned char>& excluded, const Allow& allow) {
  struct entry {
    float score;
    std::uint32_t index;
  };
  auto better = [](const entry& a, const entry& b) {
    return a.score > b.score || (a.score == b.score && a.index < b.index);
  };
  std::vector<entry> heap;  // min-heap of the best k by `better`
  heap.reserve(k + 1);
  for (std::uint32_t i = 0; i < scores.size(); ++i) {
    if (k == 0) break;
    if (!excluded.empty() && excluded[i]) continue;
    const entry e{scores[i], i};
    if (heap.size() == k && !better(e, heap.front())) continue;
    if (!allow(externals[i])) continue;
    heap.push_back(e);
    std::push_heap(heap.begin(), heap.end(), better);
    if (heap.size() > k) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.pop_back();
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);
  candidate_list out;
  out.reserve(heap.size());
  for (const auto& e : heap) out.push_back({externals[e.index], e.score});
  return out;
}

}  // namespace funnel::retrieval::detail
