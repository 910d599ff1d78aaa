#pragma once
// The exact scans of hnsw_index: every allowed live node scored, for one query or for a batch of
// queries at once (the allowed nodes picked out once per block and kept in cache while every
// query of the batch scores them). Part of hnsw_index.cpp, which includes it after
// retrieval/hnsw_search.hpp (see there why).
#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include "retrieval/hnsw_search.hpp"

namespace funnel::retrieval::detail::hnsw_search {

// Nodes a scan picks out before scoring them: 64 vectors of Fashion-MNIST (d = 784) are 200 KB,
// which stay in L2 while a batch of queries scores them.
inline constexpr std::size_t scan_block = 64;

// Bytes of the next node's vector a scan fetches while scoring one: the hardware prefetcher
// follows a vector read front to back, and the bounded L2 leaves most vectors early, so fetching
// all of it (49 lines at d = 784) was slower (Fashion-MNIST, footwear filter: 9-10.7 ms per
// query against 8.3-8.6 ms with 1 KB).
inline constexpr std::size_t scan_prefetch_bytes = 1024;

inline const float* node_vector(const graph_t& g, tableint id) noexcept {
  return reinterpret_cast<const float*>(g.getDataByInternalId(id));
}

// Scores nodes ids[0, count) into `best`, fetching the start of the next node's vector while
// scoring one.
inline void score_nodes(const graph_t& g, const float_distance& dist, const float* q,
                        const tableint* ids, std::size_t count, top_k_heap& best) noexcept {
  const std::size_t bytes = std::min(scan_prefetch_bytes, dist.dim * sizeof(float));
  for (std::size_t j = 0; j < count; ++j) {
    if (j + 1 < count) {
      const char* next = g.getDataByInternalId(ids[j + 1]);
      for (std::size_t line = 0; line < bytes; line += 64) prefetch(next + line);
    }
    best.offer(dist.bounded(q, node_vector(g, ids[j]), best.bound()), ids[j]);
  }
}

// Calls visit(ids, count) with the live nodes `allowed` accepts, in node order (the memory read
// front to back), up to scan_block at a time.
template <class Allowed, class Visit>
void for_allowed_blocks(const graph_t& g, const Allowed& allowed, const Visit& visit) {
  const bool deleted = g.num_deleted_ != 0;
  const std::size_t n = g.cur_element_count;
  std::array<tableint, scan_block> picked{};
  for (std::size_t start = 0; start < n; start += scan_block) {
    const std::size_t end = std::min(n, start + scan_block);
    std::size_t count = 0;
    for (std::size_t i = start; i < end; ++i) {
      const auto id = static_cast<tableint>(i);
      if ((deleted && g.isMarkedDeleted(id)) || !allowed(id)) continue;
      picked[count++] = id;
    }
    if (count != 0) visit(picked.data(), count);
  }
}

// Calls visit(ids, count) with the live nodes of the ids in `list`, in list order, up to
// scan_block at a time (one hash lookup per id: for lists much shorter than the index).
template <class Visit>
void for_listed_blocks(const graph_t& g, const allow_list& list, const Visit& visit) {
  std::array<tableint, scan_block> picked{};
  std::size_t count = 0;
  for (const auto id : list.ids()) {
    auto it = g.label_lookup_.find(static_cast<hnswlib::labeltype>(id));
    if (it == g.label_lookup_.end()) continue;  // lookup holds live nodes only
    picked[count++] = it->second;
    if (count == scan_block) {
      visit(picked.data(), count);
      count = 0;
    }
  }
  if (count != 0) visit(picked.data(), count);
}

// The batched scan: heaps[i] ends as the max-heap of the k closest allowed nodes to queries[i].
// Each block of allowed nodes is read from memory once for the whole batch.
template <class Blocks>
void scan_batch(const graph_t& g, const float_distance& dist, std::span<const float* const> queries,
                std::span<std::vector<dist_id>* const> heaps, std::size_t k, const Blocks& blocks) {
  std::vector<top_k_heap> best;
  best.reserve(queries.size());
  for (auto* heap : heaps) {
    heap->clear();
    best.push_back({*heap, k});
  }
  blocks([&](const tableint* ids, std::size_t count) {
    for (std::size_t q = 0; q < queries.size(); ++q) {
      if (q == 0) {  // the first query brings the block into cache
        score_nodes(g, dist, queries[q], ids, count, best[q]);
        continue;
      }
      for (std::size_t j = 0; j < count; ++j) {
        best[q].offer(dist.bounded(queries[q], node_vector(g, ids[j]), best[q].bound()), ids[j]);
      }
    }
  });
}

}  // namespace funnel::retrieval::detail::hnsw_search
