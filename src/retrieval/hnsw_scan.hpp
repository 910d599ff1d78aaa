#pragma once
// The exact scans of hnsw_index: every allowed live node scored, for one query or for a batch of
// queries at once (the allowed nodes picked out once per block and kept in cache while every
// query of the batch scores them). Part of hnsw_index.cpp, which includes it after
// retrieval/hnsw_search.hpp (see there why).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "retrieval/hnsw_search.hpp"
#include "retrieval/projection.hpp"

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

// ---- L2 on the 8-bit codes: bounds, then exact re-scoring ---------------------------------------

// Re-scores nodes exactly into `best` in ascending order of their lower bounds (`order`: pairs of
// (lower bound of the squared L2, node), sorted here), stopping at the first bound the k-th exact
// distance found does not exceed: every node after it is at least as far, so it cannot enter.
// With codes that stand for their vectors closely (pixels on the 8-bit grid) little more than k
// nodes are read as floats, instead of all of them.
inline void rescore_by_bound(const graph_t& g, const float_distance& dist, const float* q,
                             std::vector<dist_id>& order, top_k_heap& best) noexcept {
  std::sort(order.begin(), order.end());
  const std::size_t bytes = std::min(scan_prefetch_bytes, dist.dim * sizeof(float));
  for (std::size_t j = 0; j < order.size(); ++j) {
    if (order[j].first >= best.bound()) break;
    if (j + 1 < order.size()) {
      const char* next = g.getDataByInternalId(order[j + 1].second);
      for (std::size_t line = 0; line < bytes; line += 64) prefetch(next + line);
    }
    const tableint id = order[j].second;
    best.offer(dist.bounded(q, node_vector(g, id), best.bound()), id);
  }
}

// The codes a scan on codes reads (L2 only): node i's code at codes + i * stride, its residual
// |x_i - decode(code_i)| in residual[i] (sq8_codec::residual).
struct l2_codes {
  const std::uint8_t* codes;
  std::size_t stride;
  const float* residual;
  float scale;
  const sq8_kernel* kernel;
};

// One query of a scan on codes: the nodes that may still be among its k closest, with their lower
// bounds, and the k smallest upper bounds seen (a max-heap): once k nodes are certainly within
// some distance, a node whose lower bound exceeds it can be dropped.
struct code_scan_query {
  const std::uint8_t* code;
  float residual;
  std::vector<dist_id> kept;
  std::vector<float> uppers;

  [[nodiscard]] float cutoff(std::size_t k) const noexcept {
    return uppers.size() < k ? no_bound : uppers.front();
  }
  void offer(const l2_codes& c, tableint id, std::size_t k) {
    const auto code_l2 = static_cast<double>(
        c.kernel->l2(code, c.codes + static_cast<std::size_t>(id) * c.stride, c.stride));
    const sq8_l2_bounds b = l2_bounds(code_l2, c.scale, residual + c.residual[id]);
    if (b.lower > cutoff(k)) return;
    kept.emplace_back(b.lower, id);
    if (uppers.size() < k) {
      uppers.push_back(b.upper);
      std::push_heap(uppers.begin(), uppers.end());
    } else if (b.upper < uppers.front()) {
      std::pop_heap(uppers.begin(), uppers.end());
      uppers.back() = b.upper;
      std::push_heap(uppers.begin(), uppers.end());
    }
    // Nodes kept before the cutoff fell: dropped now and then, so `kept` stays short.
    if (kept.size() >= 8 * k + 256) prune(k);
  }
  void prune(std::size_t k) {
    const float limit = cutoff(k);
    std::erase_if(kept, [limit](const dist_id& e) { return e.first > limit; });
  }
};

// How many nodes ahead the scan on codes fetches: a code scores in about 20 ns once in cache,
// against about 100 ns of memory latency.
inline constexpr std::size_t code_scan_ahead = 4;

// The scan on codes: heaps[i] ends as the max-heap of the k closest allowed nodes to queries[i]
// (exact float distances), each block of allowed nodes' codes read once for the whole batch; a
// quarter of the float scan's bytes at d = 784, plus the few nodes re-scored exactly.
template <class Blocks>
void scan_codes_batch(const graph_t& g, const float_distance& dist, const l2_codes& c,
                      std::span<const float* const> queries,
                      std::span<const std::uint8_t* const> query_codes,
                      std::span<const float> query_residuals,
                      std::span<std::vector<dist_id>* const> heaps, std::size_t k,
                      const Blocks& blocks) {
  std::vector<code_scan_query> state(queries.size());
  for (std::size_t q = 0; q < queries.size(); ++q) {
    state[q].code = query_codes[q];
    state[q].residual = query_residuals[q];
  }
  auto fetch = [&c](tableint id) {
    const std::uint8_t* code = c.codes + static_cast<std::size_t>(id) * c.stride;
    for (std::size_t line = 0; line < c.stride; line += 64) prefetch(code + line);
  };
  blocks([&](const tableint* ids, std::size_t count) {
    // The first query brings the block into cache, fetching code_scan_ahead nodes ahead: scoring
    // a code in cache takes a fraction of a memory latency.
    for (std::size_t j = 0; j < std::min(count, code_scan_ahead); ++j) fetch(ids[j]);
    for (std::size_t q = 0; q < queries.size(); ++q) {
      for (std::size_t j = 0; j < count; ++j) {
        if (q == 0 && j + code_scan_ahead < count) fetch(ids[j + code_scan_ahead]);
        state[q].offer(c, ids[j], k);
      }
    }
  });
  for (std::size_t q = 0; q < queries.size(); ++q) {
    state[q].prune(k);
    heaps[q]->clear();
    top_k_heap best{*heaps[q], k};
    rescore_by_bound(g, dist, queries[q], state[q].kept, best);
  }
}

}  // namespace funnel::retrieval::detail::hnsw_search

// ---- the bound scan: low-dimensional projections first, exact scores where needed -------------

namespace funnel::retrieval::detail::hnsw_search {

// The projection records a bound scan reads (retrieval/projection.hpp): node i's at
// records + i * stride, m projected values first.
struct bound_records {
  const float* records;
  std::size_t stride;
  std::size_t m;
  bool inner_product;
  const float_kernel* kernel;
  float max_norm;  // the largest |x - mu| of any record
};

// (distance, node) pairs ordered by distance, then node: among equal distances the lower node
// wins, as in a scan in node order that admits only strictly closer items.
inline constexpr auto before_in_scan = [](const dist_id& a, const dist_id& b) { return a < b; };

// Offers node `id` to `heap` (a max-heap by before_in_scan of at most k entries).
inline void offer_exact(const graph_t& g, const float_distance& dist, const float* q, tableint id,
                        std::size_t k, std::vector<dist_id>& heap) noexcept {
  if (heap.size() < k) {
    heap.emplace_back(dist(q, node_vector(g, id)), id);
    std::push_heap(heap.begin(), heap.end(), before_in_scan);
    return;
  }
  // Strictly above the k-th distance, the kernel may stop early and return any larger value.
  const float limit = std::nextafter(heap.front().first, no_bound);
  const dist_id entry{dist.bounded(q, node_vector(g, id), limit), id};
  if (!before_in_scan(entry, heap.front())) return;
  std::pop_heap(heap.begin(), heap.end(), before_in_scan);
  heap.back() = entry;
  std::push_heap(heap.begin(), heap.end(), before_in_scan);
}

// How many nodes ahead the bound scan fetches records and vectors.
inline constexpr std::size_t bound_scan_ahead = 8;

// One query of the bound scan over the nodes `allowed`: `order` gets every node's key
// (projection_key); the k smallest keys are scored exactly, which gives a distance nothing above
// its cutoff (projection_cutoff) can beat; the nodes whose keys do not exceed it are sorted and
// scored in order until the next key exceeds the cutoff of the k-th distance found. `heap` ends
// as the k closest (the same as the exact scan: an item skipped is strictly farther than the
// k-th).
inline void bound_scan_query(const graph_t& g, const float_distance& dist, const bound_records& b,
                             const float* q, const float* q_record,
                             std::span<const tableint> allowed, std::size_t k,
                             std::vector<dist_id>& order, std::vector<dist_id>& heap) {
  heap.clear();
  order.resize(allowed.size());
  const std::size_t record_bytes = b.stride * sizeof(float);
  for (std::size_t j = 0; j < allowed.size(); ++j) {
    if (j + bound_scan_ahead < allowed.size()) {
      const auto* ahead = reinterpret_cast<const char*>(
          b.records + static_cast<std::size_t>(allowed[j + bound_scan_ahead]) * b.stride);
      for (std::size_t line = 0; line < record_bytes; line += 64) prefetch(ahead + line);
    }
    const tableint id = allowed[j];
    order[j] = {
        projection_key(*b.kernel, q_record, b.records + static_cast<std::size_t>(id) * b.stride,
                       b.m, b.inner_product),
        id};
  }
  const double q_norm = q_record[b.m + 1];
  const auto cutoff = [&]() {
    return heap.size() < k ? no_bound
                           : projection_cutoff(static_cast<double>(heap.front().first), q_norm,
                                               static_cast<double>(b.max_norm), b.inner_product);
  };
  const std::size_t first = std::min(k, order.size());
  if (first < order.size()) {
    std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(first),
                     order.end());
  }
  for (std::size_t j = 0; j < first; ++j) offer_exact(g, dist, q, order[j].second, k, heap);
  if (heap.size() < k) return;
  const float keep = cutoff();
  const auto rest = std::partition(order.begin() + static_cast<std::ptrdiff_t>(first), order.end(),
                                   [keep](const dist_id& e) { return e.first <= keep; });
  std::sort(order.begin() + static_cast<std::ptrdiff_t>(first), rest);
  const auto end = static_cast<std::size_t>(rest - order.begin());
  const std::size_t bytes = std::min(scan_prefetch_bytes, dist.dim * sizeof(float));
  float limit = keep;
  for (std::size_t j = first; j < end; ++j) {
    if (order[j].first > limit) break;
    if (j + 1 < end) {
      const char* next = g.getDataByInternalId(order[j + 1].second);
      for (std::size_t line = 0; line < bytes; line += 64) prefetch(next + line);
    }
    const float before = heap.front().first;
    offer_exact(g, dist, q, order[j].second, k, heap);
    if (heap.front().first != before) limit = cutoff();
  }
}

// The bound scan of a batch: the allowed nodes are picked out once, then each query runs
// bound_scan_query. heaps[i] ends as the max-heap (by distance) of queries[i]'s k closest.
template <class Blocks>
void bound_scan_batch(const graph_t& g, const float_distance& dist, const bound_records& b,
                      std::span<const float* const> queries,
                      std::span<const float* const> query_records,
                      std::span<std::vector<dist_id>* const> heaps, std::size_t k,
                      const Blocks& blocks) {
  // The thread's scratch: 12 bytes per allowed item would otherwise be allocated (and, above
  // malloc's mmap threshold, page-faulted in) on every query.
  auto& allowed = thread_scratch().allowed;
  auto& order = thread_scratch().order;
  allowed.clear();
  blocks([&](const tableint* ids, std::size_t count) {
    allowed.insert(allowed.end(), ids, ids + count);
  });
  for (std::size_t q = 0; q < queries.size(); ++q) {
    // A max-heap by (distance, node) is one by distance alone, as callers expect.
    bound_scan_query(g, dist, b, queries[q], query_records[q], allowed, k, order, *heaps[q]);
  }
}

}  // namespace funnel::retrieval::detail::hnsw_search
