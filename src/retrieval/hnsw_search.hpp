#pragma once
// The graph walk of hnsw_index: greedy descent through the upper levels and the filtered level-0
// beam search (hnswlib's searchBaseLayerST with a filter and limits), the distances it walks by
// (floats with the run-time kernels of retrieval/float_kernels.hpp, or the 8-bit codes of
// retrieval/sq8.hpp), and the per-thread buffers.
//
// Part of hnsw_index.cpp, which includes it after <hnswlib/hnswlib.h>: hnswlib 0.6.2 defines
// non-inline functions in its header, so hnsw_index.cpp stays the one translation unit that
// includes hnswlib, and so the only one that includes this file.
#include <funnel/retrieval/filter.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "retrieval/float_kernels.hpp"
#include "retrieval/sq8.hpp"

namespace funnel::retrieval::detail::hnsw_search {

using graph_t = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;
using dist_id = std::pair<float, tableint>;

#ifdef USE_SSE
inline void prefetch(const void* p) noexcept {
  _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0);
}
#else
inline void prefetch(const void* /*p*/) noexcept {}
#endif

struct allow_everything {
  static constexpr bool filtered = false;
  bool operator()(tableint /*id*/) const noexcept { return true; }
};
// Filters read external ids from a dense array (node -> id) rather than from hnswlib's node,
// where the id sits after the vector: a filtered walk asks about many nodes it never scores.
struct allow_in_list {
  static constexpr bool filtered = true;
  const std::uint64_t* labels;
  const allow_list* list;
  bool operator()(tableint id) const noexcept { return list->contains(labels[id]); }
};
struct allow_by_predicate {
  static constexpr bool filtered = true;
  const std::uint64_t* labels;
  const filter* f;
  bool operator()(tableint id) const noexcept { return f->allows(labels[id]); }
};

// Per-thread buffers: searches allocate nothing once a thread has warmed up.
struct scratch {
  std::vector<dist_id> top;
  std::vector<dist_id> candidates;
  std::vector<float> query;
  std::vector<std::uint8_t> query_code;
  std::vector<tableint> fresh;
  // The bound scan's (hnsw_scan.hpp): the allowed nodes, and (key, node) for each of them.
  std::vector<tableint> allowed;
  std::vector<dist_id> order;
};
inline scratch& thread_scratch() {
  thread_local scratch s;
  return s;
}

inline constexpr auto closer_first_heap = [](const dist_id& a, const dist_id& b) {
  return a.first > b.first;  // std heap with this comparator keeps the smallest on top
};
inline constexpr auto farther_first_heap = [](const dist_id& a, const dist_id& b) {
  return a.first < b.first;
};

inline constexpr float no_bound = std::numeric_limits<float>::infinity();

// hnswlib's distances (squared L2, or 1 - inner product; cosine is the inner product of
// normalized vectors) with the float kernel chosen at run time (retrieval/float_kernels.hpp)
// instead of the SSE loop hnswlib was compiled with. A distance that is not finite (a stored vector
// with a non-finite value, let through by a load without `hnsw_load_options::verify_values`, or an
// overflow) is measured as infinitely far: NaN would break the ordering every heap and sort relies
// on, and -infinity would rank the damaged item first.
struct float_distance {
  const float_kernel* kernel;
  std::size_t dim;
  bool inner_product;
  static float ordered(float d) noexcept { return std::isfinite(d) ? d : no_bound; }
  float operator()(const float* a, const float* b) const noexcept {
    return ordered(inner_product ? 1.0F - kernel->dot(a, b, dim) : kernel->l2(a, b, dim));
  }
  /// The distance when it is below `bound`; otherwise some value >= bound (L2 stops early).
  float bounded(const float* a, const float* b, float bound) const noexcept {
    return ordered(inner_product ? 1.0F - kernel->dot(a, b, dim)
                                 : kernel->l2_bounded(a, b, dim, bound));
  }
};

// How the walk measures distance (smaller = closer); both also prefetch a node's data.
// float_walk measures the stored vectors; code_walk uses the 8-bit codes of `quantize()`
// (retrieval/sq8.hpp), a quarter of the bytes per visited node.
struct float_walk {
  // Lines of a neighbour's vector fetched when the walk gathers it; the rest of it is fetched
  // while the neighbour before it is scored (measured on Fashion-MNIST, d = 784: fetching every
  // line at once queues 49 misses per neighbour and is slower than hnswlib's order).
  static constexpr std::size_t gather_lines = 4;
  const graph_t& g;
  const float* q;
  float_distance distance;
  [[nodiscard]] const char* bytes(tableint id) const noexcept {
    return g.data_level0_memory_ + id * g.size_data_per_element_ + g.offsetData_;
  }
  [[nodiscard]] const float* vector(tableint id) const noexcept {
    return reinterpret_cast<const float*>(bytes(id));
  }
  float operator()(tableint id) const noexcept { return distance(q, vector(id)); }
  float bounded(tableint id, float bound) const noexcept {
    return distance.bounded(q, vector(id), bound);
  }
  void prefetch_node(tableint id) const noexcept { prefetch(bytes(id)); }
  void prefetch_gathered(tableint id) const noexcept {
    for (std::size_t line = 0; line < gather_lines; ++line) prefetch(bytes(id) + 64 * line);
  }
  void prefetch_rest(tableint id) const noexcept {
    const std::size_t size = distance.dim * sizeof(float);
    for (std::size_t at = 64 * gather_lines; at < size; at += 64) prefetch(bytes(id) + at);
  }
};

template <bool InnerProduct>
struct code_walk {
  const std::uint8_t* codes;
  std::size_t stride;
  const std::uint8_t* q;
  const float* offset_dot;  // per node, inner product only
  float scale;
  const sq8_kernel* kernel;
  float operator()(tableint id) const noexcept {
    const std::uint8_t* c = codes + static_cast<std::size_t>(id) * stride;
    if constexpr (InnerProduct) {
      return -(offset_dot[id] + scale * static_cast<float>(kernel->dot(q, c, stride)));
    } else {
      return static_cast<float>(kernel->l2(q, c, stride));
    }
  }
  float bounded(tableint id, float /*bound*/) const noexcept { return (*this)(id); }
  void prefetch_node(tableint id) const noexcept {
    prefetch(codes + static_cast<std::size_t>(id) * stride);
  }
  // As the float walk: the first lines of every gathered neighbour's code, the rest of the next
  // one's while one is scored (13 lines at d = 784: all of them for every neighbour at once
  // queues more misses than the memory system overlaps).
  static constexpr std::size_t gather_lines = 4;
  void prefetch_gathered(tableint id) const noexcept {
    const std::uint8_t* c = codes + static_cast<std::size_t>(id) * stride;
    const std::size_t first = std::min(stride, 64 * gather_lines);
    for (std::size_t line = 0; line < first; line += 64) prefetch(c + line);
  }
  void prefetch_rest(tableint id) const noexcept {
    const std::uint8_t* c = codes + static_cast<std::size_t>(id) * stride;
    for (std::size_t line = 64 * gather_lines; line < stride; line += 64) prefetch(c + line);
  }
};

// Greedy descent through the upper levels (as hnswlib's searchKnn).
template <class Dist>
std::pair<tableint, float> descend(const graph_t& g, const Dist& dist) noexcept {
  tableint cur = g.enterpoint_node_;
  float cur_dist = dist(cur);
  for (int level = g.maxlevel_; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const auto* data = g.get_linklist(cur, level);
      const auto size = g.getListCount(const_cast<hnswlib::linklistsizeint*>(data));
      const auto* links = reinterpret_cast<const tableint*>(data + 1);
      for (unsigned i = 0; i < size; ++i) {
        const tableint cand = links[i];
        const float d = dist.bounded(cand, cur_dist);
        if (d < cur_dist) {
          cur_dist = d;
          cur = cand;
          changed = true;
        }
      }
    }
  }
  return {cur, cur_dist};
}

// When a filtered search gives up (the caller then scans): after `budget` distance computations,
// or after `probe` of them if it has found fewer than `want` allowed items by then, or after
// `first_probe` of them if it has found none at all (a query far from every allowed item finds
// none near it, and its beam would wander the graph; the earlier look spares such a query most
// of the probe's cost, which it pays on top of the scan).
struct walk_limit {
  std::size_t budget = std::numeric_limits<std::size_t>::max();
  std::size_t probe = std::numeric_limits<std::size_t>::max();
  std::size_t want = 0;
  std::size_t first_probe = std::numeric_limits<std::size_t>::max();
};

// Level-0 beam search, hnswlib's searchBaseLayerST with a filter: nodes not allowed (or deleted)
// still route the search but never enter the result set, and the search continues until `ef`
// allowed results are found or the reachable graph is exhausted. `top` ends as a max-heap.
// A filtered search gives up (returns false) at `limit` (walk_limit): a query far from every
// allowed item makes the beam wander, and the caller then scans instead, so such a query costs
// about the scan (it fails the probe early), and any query at most about twice the scan.
template <bool HasDeleted, class Allowed, class Dist>
bool search_level0(const graph_t& g, tableint ep, float ep_dist, const Dist& dist, std::size_t ef,
                   const Allowed& allowed, std::vector<dist_id>& top,
                   std::vector<dist_id>& candidates, std::vector<tableint>& fresh_ids,
                   const walk_limit& limit) {
  constexpr bool stop_early = !HasDeleted && !Allowed::filtered;
  top.clear();
  candidates.clear();
  auto accept = [&](tableint id) {
    if constexpr (HasDeleted) {
      if (g.isMarkedDeleted(id)) return false;
    }
    return allowed(id);
  };
  hnswlib::VisitedList* vl = g.visited_list_pool_->getFreeVisitedList();
  hnswlib::vl_type* visited = vl->mass;
  const hnswlib::vl_type tag = vl->curV;

  fresh_ids.resize(2 * g.maxM0_ + 1);
  tableint* fresh = fresh_ids.data();
  float lower_bound = std::numeric_limits<float>::max();
  std::size_t spent = 0;
  if (accept(ep)) {
    top.emplace_back(ep_dist, ep);
    lower_bound = ep_dist;
  }
  candidates.emplace_back(ep_dist, ep);
  visited[ep] = tag;

  const char* base = g.data_level0_memory_;
  const std::size_t stride = g.size_data_per_element_;
  while (!candidates.empty()) {
    const dist_id current = candidates.front();
    if (current.first > lower_bound && (top.size() == ef || stop_early)) break;
    std::pop_heap(candidates.begin(), candidates.end(), closer_first_heap);
    candidates.pop_back();

    const auto* data = reinterpret_cast<const unsigned*>(g.get_linklist0(current.second));
    const std::size_t size = *reinterpret_cast<const std::uint16_t*>(data);
    prefetch(visited + data[1]);
    prefetch(visited + data[1] + 64);
    dist.prefetch_node(data[1]);
    prefetch(data + 2);
    auto consider = [&](tableint id, float d) {
      if (top.size() < ef || lower_bound > d) {
        candidates.emplace_back(d, id);
        std::push_heap(candidates.begin(), candidates.end(), closer_first_heap);
        prefetch(base + candidates.front().second * stride);
        if (accept(id)) {
          top.emplace_back(d, id);
          std::push_heap(top.begin(), top.end(), farther_first_heap);
          if (top.size() > ef) {
            std::pop_heap(top.begin(), top.end(), farther_first_heap);
            top.pop_back();
          }
        }
        if (!top.empty()) lower_bound = top.front().first;
      }
    };
    // The walk first marks the unvisited neighbours and starts fetching their data, then scores
    // them, fetching the rest of the next one's data meanwhile: the misses overlap instead of
    // costing one memory latency each (hnswlib scores each neighbour as it meets it). A node
    // whose distance cannot enter the results is only read until that is certain (bounded L2).
    std::size_t count = 0;
    for (std::size_t j = 1; j <= size; ++j) {
      const tableint id = data[j];
      prefetch(visited + data[j + 1]);
      if (visited[id] == tag) continue;
      visited[id] = tag;
      if constexpr (Allowed::filtered) {
        ++spent;
        if (spent > limit.budget || (spent == limit.probe && top.size() < limit.want) ||
            (spent == limit.first_probe && top.empty())) {
          g.visited_list_pool_->releaseVisitedList(vl);
          return false;
        }
      }
      dist.prefetch_gathered(id);
      fresh[count++] = id;
    }
    if (count != 0) dist.prefetch_rest(fresh[0]);
    for (std::size_t i = 0; i < count; ++i) {
      if (i + 1 < count) dist.prefetch_rest(fresh[i + 1]);
      consider(fresh[i], dist.bounded(fresh[i], top.size() < ef ? no_bound : lower_bound));
    }
  }
  g.visited_list_pool_->releaseVisitedList(vl);
  return true;
}

// Keeps the k closest of (distance, node) pairs offered one by one (a bounded max-heap).
struct top_k_heap {
  std::vector<dist_id>& heap;
  std::size_t k;
  /// The distance an item must beat to enter.
  [[nodiscard]] float bound() const noexcept {
    return heap.size() < k ? no_bound : heap.front().first;
  }
  void offer(float d, tableint id) {
    if (heap.size() < k) {
      heap.emplace_back(d, id);
      std::push_heap(heap.begin(), heap.end(), farther_first_heap);
    } else if (d < heap.front().first) {
      std::pop_heap(heap.begin(), heap.end(), farther_first_heap);
      heap.back() = {d, id};
      std::push_heap(heap.begin(), heap.end(), farther_first_heap);
    }
  }
};

}  // namespace funnel::retrieval::detail::hnsw_search
