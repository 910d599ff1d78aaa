// The one translation unit that includes hnswlib: Debian's hnswlib 0.6.2 defines non-inline
// functions in its header, so a second including translation unit would break the link.
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/mapped_file.hpp>
#include <funnel/retrieval/hnsw_index.hpp>

// hnswlib 0.6.2's SSE path prefetches `links[j + 1]` after the last link of a full upper-level
// list, reading 4 bytes past that malloc'ed list inside addPoint (the value only feeds a prefetch,
// and malloc's rounding keeps it inside the chunk, but it is a real out-of-bounds read). Under
// AddressSanitizer hnswlib is therefore built without manual vectorization.
#if defined(__SANITIZE_ADDRESS__) && !defined(NO_MANUAL_VECTORIZATION)
#define NO_MANUAL_VECTORIZATION
#endif
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <new>
#include <optional>
#include <shared_mutex>
#include <span>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <zlib.h>

#include "retrieval/hnsw_file.hpp"
#include "retrieval/hnsw_format.hpp"
#include "retrieval/hnsw_reference.hpp"
#include "retrieval/projection.hpp"
#include "retrieval/sq8.hpp"

// hnswlib 0.8 ships a native filter API (BaseFilterFunctor, stop_condition.h). funnel's own
// filtered search below uses only graph accessors present in both 0.6.2 and 0.8, so it does not
// depend on it; the macro records what was found for diagnostics and docs.
#if __has_include(<hnswlib/stop_condition.h>)
#define FUNNEL_HNSWLIB_NATIVE_FILTER 1
#else
#define FUNNEL_HNSWLIB_NATIVE_FILTER 0
#endif

namespace funnel::retrieval {

namespace {

constexpr std::string_view where = "retrieval.hnsw_index";

// Vectors project() fits its basis to (evenly spaced over the live nodes): the covariance costs
// sample * dim^2 / 2, 0.3-0.6 s at d = 784, and a larger sample prunes no better.
constexpr std::size_t projection_sample = 4096;

}  // namespace

}  // namespace funnel::retrieval

#include "retrieval/hnsw_scan.hpp"
#include "retrieval/hnsw_search.hpp"

namespace funnel::retrieval {

namespace {

using graph_t = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;
using dist_id = std::pair<float, tableint>;
namespace fmt_ = detail::hnsw_format;
using namespace detail::hnsw_search;

std::unique_ptr<hnswlib::SpaceInterface<float>> make_space(metric m, std::size_t dim) {
  if (m == metric::l2) return std::make_unique<hnswlib::L2Space>(dim);
  return std::make_unique<hnswlib::InnerProductSpace>(dim);
}

// Distance (hnswlib: smaller = closer) -> score (funnel: higher = better).
float to_score(metric m, float distance) noexcept {
  return m == metric::l2 ? -distance : 1.0F - distance;
}

// Copies `v` into `out`, normalized for cosine; checks finiteness. On the query path this runs
// once per search, so the common case (finite, L2 / inner product) is a vectorizable pass.
void prepare_vector(metric m, row_view v, float* out, std::string_view what) {
  // A float is +-inf or NaN iff its exponent bits are all ones: an integer OR-reduction that
  // vectorizes (a float sum would not, without -ffast-math).
  constexpr std::uint32_t exponent = 0x7f800000U;
  std::uint32_t nonfinite = 0;
  for (std::size_t j = 0; j < v.size(); ++j) {
    nonfinite |=
        static_cast<std::uint32_t>((std::bit_cast<std::uint32_t>(v[j]) & exponent) == exponent);
  }
  if (nonfinite != 0) {
    for (std::size_t j = 0; j < v.size(); ++j) {
      if (!std::isfinite(v[j])) {
        raise<invalid_argument>(where, "{}: value {} at position {} is not finite", what, v[j], j);
      }
    }
  }
  if (m != metric::cosine) {
    std::memcpy(out, v.data(), v.size() * sizeof(float));
    return;
  }
  double norm2 = 0.0;
  for (std::size_t j = 0; j < v.size(); ++j) norm2 += static_cast<double>(v[j]) * v[j];
  if (norm2 == 0.0) raise<invalid_argument>(where, "{}: zero vector has no cosine", what);
  const auto inv = static_cast<float>(1.0 / std::sqrt(norm2));
  for (std::size_t j = 0; j < v.size(); ++j) out[j] = v[j] * inv;
}

// Allocator for the code array: every code starts on a cache line (stride is a multiple of 64).
template <class T>
struct line_aligned {
  using value_type = T;
  static constexpr std::align_val_t alignment{64};
  line_aligned() = default;
  template <class U>
  explicit line_aligned(const line_aligned<U>& /*other*/) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), alignment)); }
  void deallocate(T* p, std::size_t /*n*/) noexcept { ::operator delete(p, alignment); }
  friend bool operator==(const line_aligned&, const line_aligned&) noexcept { return true; }
};

// How one search runs (namespace scope: a default argument `= {}` of a class nested in the class
// being defined is ill-formed, which clang enforces).
struct choice {
  filter_strategy strategy = filter_strategy::graph;
  // When a graph search gives up and scans instead (automatic strategy with a filter only;
  // unlimited otherwise).
  walk_limit limit;
};

}  // namespace

struct hnsw_index::impl {
  hnsw_options params;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<graph_t> graph;
  mutable std::shared_mutex mutex;
  std::atomic<std::size_t> default_ef{10};
  // 8-bit codes of every node, once quantize() ran (retrieval/sq8.hpp): node i's code at
  // i * stride, and for inner product / cosine offset . code in code_offset_dot[i].
  std::optional<detail::sq8_codec> codec;
  std::vector<std::uint8_t, line_aligned<std::uint8_t>> codes;
  std::vector<float> code_offset_dot;
  // L2 only: |x_i - decode(code_i)| per node (sq8_codec::residual), so that the code distance
  // bounds the exact one: the re-scoring and the scan on codes read floats only where it must.
  std::vector<float> code_residual;
  // Once project() ran: the basis, and node i's record (retrieval/projection.hpp) at
  // i * proj->stride() in proj_records; exact scans score only the nodes whose bounds leave
  // them a chance.
  std::optional<detail::projection> proj;
  std::vector<float> proj_records;
  float proj_max_norm = 0.0F;  // the largest |x - mu| of any record (the bounds' margin)
  // The external id of every node (hnswlib keeps it after the vector, a cache miss per filter
  // test).
  std::vector<std::uint64_t> labels;
  // The file a loaded index serves level 0 from in place (hnsw_load_options::memory_map), until
  // the first write copies it into memory (own_memory()).
  std::optional<mapped_file> mapping;

  explicit impl(const hnsw_options& p, std::size_t capacity) : params(p) {
    space = make_space(p.metric, p.dim);
    graph = std::make_unique<graph_t>(space.get(), std::max<std::size_t>(capacity, 1), p.M,
                                      p.ef_construction, static_cast<std::size_t>(p.seed));
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    if (mapping) graph->data_level0_memory_ = nullptr;  // hnswlib frees only its own memory
  }

  // Serves level 0 from `file`'s mapping instead of hnswlib's copy.
  void serve_from(mapped_file file, const char* level0) {
    std::free(graph->data_level0_memory_);
    // Read-only pages: every writer calls own_memory() first.
    graph->data_level0_memory_ = const_cast<char*>(level0);
    mapping.emplace(std::move(file));
  }

  // Before a write (caller holds the exclusive lock): copies a mapped level 0 into memory hnswlib
  // owns, so it can be written and resized.
  void own_memory() {
    if (!mapping) return;
    graph_t& g = *graph;
    auto* memory = static_cast<char*>(std::malloc(g.max_elements_ * g.size_data_per_element_));
    if (memory == nullptr) throw std::bad_alloc();
    std::memcpy(memory, g.data_level0_memory_, g.cur_element_count * g.size_data_per_element_);
    g.data_level0_memory_ = memory;
    mapping.reset();
  }

  [[nodiscard]] std::size_t live() const noexcept {
    return graph->cur_element_count - graph->num_deleted_;
  }

  void grow_for(std::size_t extra) {
    const std::size_t needed = graph->cur_element_count + extra;
    if (needed > graph->max_elements_) {
      graph->resizeIndex(std::max(needed, graph->max_elements_ * 2));
    }
  }

  [[nodiscard]] bool inner_product_codes() const noexcept { return params.metric != metric::l2; }

  [[nodiscard]] float_distance distance() const noexcept {
    return {&detail::float_best(), params.dim, params.metric != metric::l2};
  }

  // Encodes nodes [from, to) with the current codec (caller holds the exclusive lock).
  void encode_nodes(std::size_t from, std::size_t to) {
    const std::size_t stride = codec->stride();
    if (codes.size() < to * stride) {
      codes.resize(std::max(to, graph->max_elements_) * stride);
      if (inner_product_codes()) {
        code_offset_dot.resize(codes.size() / stride);
      } else {
        code_residual.resize(codes.size() / stride);
      }
    }
    for (std::size_t i = from; i < to; ++i) {
      std::uint8_t* code = codes.data() + i * stride;
      const auto* x =
          reinterpret_cast<const float*>(graph->getDataByInternalId(static_cast<tableint>(i)));
      codec->encode(x, code);
      if (inner_product_codes()) {
        code_offset_dot[i] = codec->offset_dot(code);
      } else {
        code_residual[i] = codec->residual(x, code);
      }
    }
  }

  // Records the ids of nodes [from, to) and encodes them when quantized (caller holds the
  // exclusive lock).
  void nodes_added(std::size_t from, std::size_t to) {
    labels.resize(to);
    for (std::size_t i = from; i < to; ++i) {
      labels[i] = graph->getExternalLabel(static_cast<tableint>(i));
    }
    if (codec) encode_nodes(from, to);
    if (proj) project_nodes(from, to);
  }

  // Writes the projection records of nodes [from, to) (caller holds the exclusive lock).
  void project_nodes(std::size_t from, std::size_t to) {
    const std::size_t stride = proj->stride();
    if (proj_records.size() < to * stride) {
      proj_records.resize(std::max(to, graph->max_elements_) * stride);
    }
    for (std::size_t i = from; i < to; ++i) {
      float* record = proj_records.data() + i * stride;
      proj->project(
          reinterpret_cast<const float*>(graph->getDataByInternalId(static_cast<tableint>(i))),
          record, detail::float_best());
      proj_max_norm = std::max(proj_max_norm, record[stride - 1]);
    }
  }

  // The live nodes in node order (the same list for the same index), for `fit` to fit to.
  // @throws invalid_argument naming `fit` when there is none.
  [[nodiscard]] std::vector<tableint> live_nodes_for(std::string_view fit) const {
    std::vector<tableint> live_nodes;
    live_nodes.reserve(graph->label_lookup_.size());
    for (const auto& entry : graph->label_lookup_) live_nodes.push_back(entry.second);
    if (live_nodes.empty()) {
      raise<invalid_argument>(where, "{}: the index holds no vectors to fit to", fit);
    }
    std::sort(live_nodes.begin(), live_nodes.end());
    return live_nodes;
  }

  // Fits the projection to a sample of the live vectors and projects every node.
  void project(std::size_t dims) {
    const graph_t& g = *graph;
    if (dims == 0) raise<invalid_argument>(where, "project: dims must be > 0");
    // Evenly spaced in node order: the same sample for the same index.
    const std::vector<tableint> live_nodes = live_nodes_for("project");
    const std::size_t samples = std::min(live_nodes.size(), projection_sample);
    std::vector<const float*> rows(samples);
    for (std::size_t i = 0; i < samples; ++i) {
      rows[i] = reinterpret_cast<const float*>(
          g.getDataByInternalId(live_nodes[i * live_nodes.size() / samples]));
    }
    proj = detail::projection::fit(params.dim, std::min(dims, params.dim), rows,
                                   !inner_product_codes());
    proj_records.clear();
    proj_max_norm = 0.0F;
    project_nodes(0, g.cur_element_count);
  }

  // Fits the codec to the live vectors and encodes every node (deleted ones still route).
  void quantize() {
    const graph_t& g = *graph;
    const std::vector<tableint> live_nodes = live_nodes_for("quantize");
    codec = detail::sq8_codec::fit(params.dim, live_nodes.size(), [&](std::size_t i) {
      return reinterpret_cast<const float*>(g.getDataByInternalId(live_nodes[i]));
    });
    codes.clear();
    code_offset_dot.clear();
    code_residual.clear();
    encode_nodes(0, g.cur_element_count);
  }

  // Deletes the node of `id` if present (caller holds the exclusive lock).
  bool erase_label(std::uint64_t id) {
    auto it = graph->label_lookup_.find(static_cast<hnswlib::labeltype>(id));
    if (it == graph->label_lookup_.end()) return false;
    graph->markDeletedInternal(it->second);
    graph->label_lookup_.erase(it);
    return true;
  }

  // The exact scan: heaps[i] ends as the max-heap of the k closest live nodes `f` allows to
  // queries[i], every block of allowed nodes read once for all the queries.
  // With `use_codes` on a quantized L2 index the scan reads the 8-bit codes and re-scores exactly
  // only the nodes whose bounds leave them a chance (scan_codes_batch): the same results.
  void scan(std::span<const float* const> queries, std::span<std::vector<dist_id>* const> heaps,
            std::size_t k, const filter& f, bool use_codes) const {
    const graph_t& g = *graph;
    const bool on_bounds = proj.has_value();
    const bool on_codes = !on_bounds && use_codes && codec && !inner_product_codes();
    std::vector<float> query_records;
    std::vector<const float*> query_record_ptrs;
    if (on_bounds) {
      const std::size_t stride = proj->stride();
      query_records.resize(queries.size() * stride);
      for (std::size_t q = 0; q < queries.size(); ++q) {
        proj->project(queries[q], query_records.data() + q * stride, detail::float_best());
        query_record_ptrs.push_back(query_records.data() + q * stride);
      }
    }
    std::vector<std::uint8_t> query_codes;
    std::vector<const std::uint8_t*> query_code_ptrs;
    std::vector<float> query_residuals;
    if (on_codes) {
      const std::size_t stride = codec->stride();
      query_codes.resize(queries.size() * stride);
      for (std::size_t q = 0; q < queries.size(); ++q) {
        std::uint8_t* code = query_codes.data() + q * stride;
        codec->encode(queries[q], code);
        query_code_ptrs.push_back(code);
        query_residuals.push_back(codec->residual(queries[q], code));
      }
    }
    const l2_codes coded{codes.data(), on_codes ? codec->stride() : 0, code_residual.data(),
                         on_codes ? codec->scale() : 1.0F, &detail::sq8_best()};
    const bound_records bounds{proj_records.data(),          on_bounds ? proj->stride() : 0,
                               on_bounds ? proj->dims() : 0, inner_product_codes(),
                               &detail::float_best(),        proj_max_norm};
    auto run = [&](const auto& blocks) {
      if (on_bounds) {
        bound_scan_batch(g, distance(), bounds, queries, query_record_ptrs, heaps, k, blocks);
      } else if (on_codes) {
        scan_codes_batch(g, distance(), coded, queries, query_code_ptrs, query_residuals, heaps, k,
                         blocks);
      } else {
        scan_batch(g, distance(), queries, heaps, k, blocks);
      }
    };
    if (f.allows_all()) {
      run([&](const auto& visit) { for_allowed_blocks(g, allow_everything{}, visit); });
    } else if (f.list() != nullptr && (on_bounds || f.list()->size() * 8 < g.cur_element_count)) {
      // A short list: looked up id by id rather than testing every node.
      run([&](const auto& visit) { for_listed_blocks(g, *f.list(), visit); });
    } else if (f.list() != nullptr) {
      run([&](const auto& visit) {
        for_allowed_blocks(g, allow_in_list{labels.data(), f.list()}, visit);
      });
    } else {
      run([&](const auto& visit) {
        for_allowed_blocks(g, allow_by_predicate{labels.data(), &f}, visit);
      });
    }
  }

  // False when a filtered search ran out of `budget` distance computations.
  template <class Allowed, class Dist>
  bool walk(const Dist& dist, std::size_t ef, const Allowed& allowed, scratch& s,
            const walk_limit& limit) const {
    const auto [ep, ep_dist] = descend(*graph, dist);
    if (graph->num_deleted_ != 0) {
      return search_level0<true>(*graph, ep, ep_dist, dist, ef, allowed, s.top, s.candidates,
                                 s.fresh, limit);
    }
    return search_level0<false>(*graph, ep, ep_dist, dist, ef, allowed, s.top, s.candidates,
                                s.fresh, limit);
  }

  // L2 on codes: s.top (code distances) becomes the max-heap of the k closest by exact distance,
  // re-scoring in order of the lower bounds the residuals give (rescore_by_bound): the same k
  // as re-scoring all ef of them, with most of their float vectors never read.
  void rescore_l2(const float* q, float q_residual, std::size_t k, scratch& s) const {
    auto& order = s.candidates;
    order.clear();
    for (const auto& [d, id] : s.top) {
      order.emplace_back(
          detail::l2_bounds(static_cast<double>(d), codec->scale(), q_residual + code_residual[id])
              .lower,
          id);
    }
    s.top.clear();
    top_k_heap best{s.top, k};
    rescore_by_bound(*graph, distance(), q, order, best);
  }

  // The graph search on float vectors, or on the 8-bit codes with the ef results found re-scored
  // exactly (so scores and the final order are always the float ones); on codes with L2 only the
  // k closest are kept (rescore_l2). `top` ends as a max-heap.
  template <class Allowed>
  bool graph_search(const float* q, std::size_t k, std::size_t ef, bool use_codes,
                    const Allowed& allowed, scratch& s, const choice& c = {}) const {
    const graph_t& g = *graph;
    if (!use_codes || !codec) return walk(float_walk{g, q, distance()}, ef, allowed, s, c.limit);
    const std::size_t stride = codec->stride();
    s.query_code.resize(stride);
    codec->encode(q, s.query_code.data());
    bool finished = false;
    if (inner_product_codes()) {
      finished = walk(code_walk<true>{codes.data(), stride, s.query_code.data(),
                                      code_offset_dot.data(), codec->scale(), &detail::sq8_best()},
                      ef, allowed, s, c.limit);
    } else {
      finished = walk(code_walk<false>{codes.data(), stride, s.query_code.data(), nullptr, 1.0F,
                                       &detail::sq8_best()},
                      ef, allowed, s, c.limit);
    }
    if (!finished) return false;
    if (!inner_product_codes()) {
      rescore_l2(q, codec->residual(q, s.query_code.data()), k, s);
      return true;
    }
    for (auto& [d, id] : s.top) d = float_walk{g, q, distance()}(id);
    std::make_heap(s.top.begin(), s.top.end(), farther_first_heap);
    return true;
  }

  // Estimated share of live nodes a predicate allows, from an evenly spaced sample.
  [[nodiscard]] double sample_fraction(const filter& f) const {
    const graph_t& g = *graph;
    const std::size_t n = g.cur_element_count;
    const std::size_t samples = std::min<std::size_t>(n, 256);
    std::size_t seen = 0;
    std::size_t allowed = 0;
    for (std::size_t s = 0; s < samples; ++s) {
      const auto i = static_cast<tableint>(s * n / samples);
      if (g.isMarkedDeleted(i)) continue;
      ++seen;
      if (f.allows(labels[i])) ++allowed;
    }
    return seen == 0 ? 0.0 : static_cast<double>(allowed) / static_cast<double>(seen);
  }

  // What an exact scan costs per allowed item, in full distance computations: 1, or on a
  // projected index the record it reads (m + 2 floats of dim) plus the share it scores exactly
  // (on Fashion-MNIST at m = 64 about 3% on average for a filter far from the query, less for
  // one near it: docs/benchmarks.md).
  [[nodiscard]] double scan_share() const noexcept {
    if (!proj) return 1.0;
    constexpr double rescored = 0.05;
    return std::min(
        1.0, static_cast<double>(proj->stride()) / static_cast<double>(params.dim) + rescored);
  }

  // The cost rule documented at search_options (caller holds the lock).
  [[nodiscard]] choice choose(std::size_t k, const search_options& options, const filter& f) const {
    if (f.allows_all()) return {filter_strategy::graph, {}};
    if (options.strategy != filter_strategy::automatic) return {options.strategy, {}};
    const auto n = static_cast<double>(live());
    if (n == 0.0) return {filter_strategy::scan, {}};
    const bool predicate = f.list() == nullptr;
    // An allow-list may name ids not in the index: its size is what the scan pays (one lookup
    // each) and an upper bound of what the graph search can find.
    const double allowed =
        predicate ? sample_fraction(f) * n : static_cast<double>(f.list()->size());
    if (allowed < static_cast<double>(k)) return {filter_strategy::scan, {}};
    const double fraction = std::min(1.0, allowed / n);
    const auto ef =
        static_cast<double>(std::max(options.ef == 0 ? default_ef.load() : options.ef, k));
    // The measured filtered-search cost grows as ef^(2/3), not linearly (docs/benchmarks.md).
    const double graph_cost = std::min(n, options.graph_visit_factor * std::cbrt(ef * ef) *
                                              static_cast<double>(params.M) / fraction);
    const double scan_cost =
        allowed * scan_share() +
        (predicate ? n * 16.0 / (static_cast<double>(params.dim) + 16.0) : 0.0);
    if (scan_cost <= graph_cost) return {filter_strategy::scan, {}};
    // Bail out of the graph once it has cost what the scan would (the scan then runs: at most
    // about twice the cheaper strategy when the estimate was wrong for this query). A graph visit
    // (random access, heap work, the filter) costs about 4 scanned items (Fashion-MNIST, 64-d
    // PCA: ~210 ns against ~40-50 ns), hence scan_cost / 4 visits.
    constexpr double visit_cost = 4.0;
    // A query far from every allowed item finds none near it: a beam with fewer than k allowed
    // results after 8 k / f scored nodes (8 times what a region holding the filter's average
    // share needs) is wandering, and scans at once; one with none at all after 2 k / f (twice
    // the share) already. That first look cut the far query's overhead over the scan from about
    // 5% to about 1% (Fashion-MNIST, footwear filter, shirt queries: docs/benchmarks.md).
    const double probe = 8.0 * static_cast<double>(k) / fraction;
    return {filter_strategy::graph,
            {static_cast<std::size_t>(std::max(scan_cost / visit_cost, 64.0 * ef)),
             static_cast<std::size_t>(probe), k, static_cast<std::size_t>(probe / 4.0)}};
  }

  void check_options(const search_options& options) const {
    if (!(options.graph_visit_factor >= 0.0) || std::isinf(options.graph_visit_factor)) {
      raise<invalid_argument>(where, "graph_visit_factor {} must be finite and >= 0",
                              options.graph_visit_factor);
    }
  }

  // The graph search of one query, into s.top; false when the scan must answer it instead (the
  // strategy is scan, an automatic search gave up, or it found fewer than k: an HNSW graph is not
  // guaranteed connected, deletions make it worse, and only the scan then keeps the "k while k
  // are allowed" promise).
  bool graph_phase(const float* q, std::size_t k, std::size_t ef, const search_options& options,
                   const filter& f, const choice& c, scratch& s) const {
    if (c.strategy == filter_strategy::scan) return false;
    bool finished = true;
    const bool codes = options.quantized_walk;
    if (f.allows_all()) {
      graph_search(q, k, ef, codes, allow_everything{}, s);
    } else if (f.list() != nullptr) {
      finished = graph_search(q, k, ef, codes, allow_in_list{labels.data(), f.list()}, s, c);
    } else {
      finished = graph_search(q, k, ef, codes, allow_by_predicate{labels.data(), &f}, s, c);
    }
    return finished && s.top.size() >= k;
  }

  // `top` is a max-heap of up to ef entries: drops the farthest down to k, sorts only those.
  void finish(std::vector<dist_id>& top, std::size_t k, candidate_list& out) const {
    while (top.size() > k) {
      std::pop_heap(top.begin(), top.end(), farther_first_heap);
      top.pop_back();
    }
    std::sort(top.begin(), top.end());
    out.resize(top.size());
    for (std::size_t i = 0; i < top.size(); ++i) {
      out[i] = {labels[top[i].second], to_score(params.metric, top[i].first)};
    }
  }

  void search(row_view query, std::size_t k, const search_options& options, const filter& f,
              candidate_list& out) const {
    out.clear();
    if (query.size() != params.dim) {
      raise<dimension_mismatch>(where, "query has {} values, index dimension is {}", query.size(),
                                params.dim);
    }
    check_options(options);
    scratch& s = thread_scratch();
    s.query.resize(params.dim);
    prepare_vector(params.metric, query, s.query.data(), "query");
    const float* q = s.query.data();

    std::shared_lock lock(mutex);
    if (k == 0 || live() == 0) return;
    const std::size_t ef = std::max(options.ef == 0 ? default_ef.load() : options.ef, k);
    if (!graph_phase(q, k, ef, options, f, choose(k, options, f), s)) {
      const float* const queries[] = {q};
      std::vector<dist_id>* const heaps[] = {&s.top};
      scan(queries, heaps, k, f, options.quantized_walk);
    }
    finish(s.top, k, out);
  }

  std::vector<candidate_list> search_batch(matrix_view queries, std::size_t k,
                                           const search_options& options, const filter& f) const {
    const std::size_t rows = queries.rows();
    std::vector<candidate_list> out(rows);
    if (queries.cols() != params.dim && rows != 0) {
      raise<dimension_mismatch>(where, "queries have {} values, index dimension is {}",
                                queries.cols(), params.dim);
    }
    check_options(options);
    std::vector<float> prepared(rows * params.dim);
    for (std::size_t i = 0; i < rows; ++i) {
      prepare_vector(params.metric, queries.row(i), prepared.data() + i * params.dim,
                     fmt::format("query {}", i));
    }
    std::shared_lock lock(mutex);
    if (k == 0 || live() == 0) return out;
    const std::size_t ef = std::max(options.ef == 0 ? default_ef.load() : options.ef, k);
    const choice c = choose(k, options, f);
    scratch& s = thread_scratch();
    std::vector<std::vector<dist_id>> tops(rows);
    std::vector<const float*> scan_queries;
    std::vector<std::vector<dist_id>*> scan_heaps;
    for (std::size_t i = 0; i < rows; ++i) {
      const float* q = prepared.data() + i * params.dim;
      if (graph_phase(q, k, ef, options, f, c, s)) {
        tops[i].swap(s.top);
      } else {
        scan_queries.push_back(q);
        scan_heaps.push_back(&tops[i]);
      }
    }
    if (!scan_queries.empty()) scan(scan_queries, scan_heaps, k, f, options.quantized_walk);
    for (std::size_t i = 0; i < rows; ++i) finish(tops[i], k, out[i]);
    return out;
  }

  // ---- persistence -----------------------------------------------------------------------------

  [[nodiscard]] std::string serialize() const {
    std::shared_lock lock(mutex);
    const graph_t& g = *graph;
    const std::size_t n = g.cur_element_count;
    std::size_t upper = 0;
    for (std::size_t i = 0; i < n; ++i) {
      upper += 4 + static_cast<std::size_t>(g.element_levels_[i]) * g.size_links_per_element_;
    }
    std::string out;
    out.reserve(fmt_::header_size + n * g.size_data_per_element_ + upper + 4);
    auto put = [&out](const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
    out.append(fmt_::magic, sizeof(fmt_::magic));
    put(proj ? fmt_::version : fmt_::version_without_projection);
    put(fmt_::endian_marker);
    put(static_cast<std::uint32_t>(params.metric));
    put((codec ? fmt_::flag_codes : std::uint32_t{0}) |
        (proj ? fmt_::flag_projection : std::uint32_t{0}));
    put(static_cast<std::uint64_t>(params.dim));
    put(static_cast<std::uint64_t>(params.M));
    put(static_cast<std::uint64_t>(params.ef_construction));
    put(static_cast<std::uint64_t>(params.seed));
    put(static_cast<std::uint64_t>(n));
    put(static_cast<std::uint64_t>(g.num_deleted_));
    put(static_cast<std::int64_t>(g.maxlevel_));
    put(static_cast<std::uint64_t>(g.enterpoint_node_));
    put(static_cast<std::uint64_t>(g.size_data_per_element_));
    put(static_cast<std::uint64_t>(upper));
    out.append(g.data_level0_memory_, n * g.size_data_per_element_);
    for (std::size_t i = 0; i < n; ++i) {
      const auto bytes = static_cast<std::uint32_t>(static_cast<std::size_t>(g.element_levels_[i]) *
                                                    g.size_links_per_element_);
      put(bytes);
      if (bytes != 0) out.append(g.linkLists_[i], bytes);
    }
    if (codec) {
      put(codec->scale());
      for (const float o : codec->offset()) put(o);
    }
    if (proj) {
      put(static_cast<std::uint64_t>(proj->dims()));
      out.append(reinterpret_cast<const char*>(proj->centre().data()), proj->centre().size_bytes());
      out.append(reinterpret_cast<const char*>(proj->basis().data()), proj->basis().size_bytes());
      out.append(reinterpret_cast<const char*>(proj_records.data()),
                 n * proj->stride() * sizeof(float));
    }
    const auto crc = static_cast<std::uint32_t>(
        crc32_z(0L, reinterpret_cast<const Bytef*>(out.data()), out.size()));
    put(crc);
    return out;
  }
};

namespace {

// The index of a parsed file: upper levels copied, level 0 copied or (with `mapping`) served
// from the file in place.
std::unique_ptr<hnsw_index::impl> graph_from_file(const detail::hnsw_file& file,
                                                  std::string_view bytes, std::string_view source,
                                                  std::optional<mapped_file> mapping) {
  const std::size_t n = file.count;
  auto state = std::make_unique<hnsw_index::impl>(file.params, n);
  graph_t& g = *state->graph;
  if (mapping) {
    state->serve_from(std::move(*mapping), file.level0);
  } else {
    std::memcpy(g.data_level0_memory_, file.level0, n * file.node_bytes);
  }
  g.label_lookup_.reserve(n - file.deleted);
  for (std::size_t i = 0; i < n; ++i) {
    g.element_levels_[i] = file.levels[i];
    if (file.levels[i] == 0) {
      g.linkLists_[i] = nullptr;
    } else {
      const std::size_t size = static_cast<std::size_t>(file.levels[i]) * file.level_bytes;
      g.linkLists_[i] = static_cast<char*>(std::malloc(size + 1));
      if (g.linkLists_[i] == nullptr) {
        g.cur_element_count = i;  // the destructor frees the lists allocated so far
        throw std::bad_alloc();
      }
      std::memcpy(g.linkLists_[i], bytes.data() + file.upper_offset[i], size);
    }
    g.cur_element_count = i + 1;
    if (!g.isMarkedDeleted(static_cast<tableint>(i))) {
      const auto label = g.getExternalLabel(static_cast<tableint>(i));
      if (!g.label_lookup_.try_emplace(label, static_cast<tableint>(i)).second) {
        raise<parse_error>(where, "{}: id {} stored twice", source, label);
      }
    }
  }
  g.num_deleted_ = file.deleted;
  g.maxlevel_ = static_cast<int>(file.max_level);
  g.enterpoint_node_ = static_cast<tableint>(file.entry);
  state->codec = file.codec;
  state->nodes_added(0, n);
  if (file.proj) {
    // Copied rather than recomputed (projecting costs about a second at 60k x 784); the largest
    // norm found on the way.
    state->proj = file.proj;
    const std::size_t stride = file.proj->stride();
    state->proj_records.resize(std::max(n, g.max_elements_) * stride);
    std::memcpy(state->proj_records.data(), file.proj_records, n * stride * sizeof(float));
    float max_norm = 0.0F;
    for (std::size_t i = 0; i < n; ++i) {
      max_norm = std::max(max_norm, state->proj_records[i * stride + stride - 1]);
    }
    // A load without value checks may let a non-finite norm through: infinity makes the scan
    // skip nothing, NaN is passed over here (that node's key is NaN: it is scored exactly).
    state->proj_max_norm = max_norm;
  }
  return state;
}

}  // namespace

hnsw_index hnsw_index::deserialize(std::string_view bytes, std::string_view source) {
  return hnsw_index(
      graph_from_file(detail::parse_hnsw_file(bytes, source, true), bytes, source, {}));
}

// ---- hnsw_index ---------------------------------------------------------------------------------

hnsw_index::hnsw_index(const hnsw_options& params) {
  detail::check_hnsw_params(params);
  impl_ = std::make_unique<impl>(params, params.capacity);
}
hnsw_index::hnsw_index(std::unique_ptr<impl> state) noexcept : impl_(std::move(state)) {}
hnsw_index::~hnsw_index() = default;
hnsw_index::hnsw_index(hnsw_index&&) noexcept = default;
hnsw_index& hnsw_index::operator=(hnsw_index&&) noexcept = default;

void hnsw_index::add(std::uint64_t id, row_view vector) {
  add_batch(std::span<const std::uint64_t>(&id, 1), matrix_view(vector.data(), 1, vector.size()),
            1);
}

void hnsw_index::add_batch(std::span<const std::uint64_t> ids, matrix_view vectors,
                           std::size_t threads) {
  const auto& p = impl_->params;
  if (vectors.rows() != ids.size()) {
    raise<dimension_mismatch>(where, "{} ids for {} vectors", ids.size(), vectors.rows());
  }
  if (vectors.cols() != p.dim && !ids.empty()) {
    raise<dimension_mismatch>(where, "vectors have {} values, index dimension is {}",
                              vectors.cols(), p.dim);
  }
  {
    std::unordered_set<std::uint64_t> seen;
    seen.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (!seen.insert(ids[i]).second) {
        raise<invalid_argument>(where, "id {} appears twice in the batch (row {})", ids[i], i);
      }
    }
  }
  // Validate (and normalize for cosine) everything before touching the graph.
  std::vector<float> prepared(ids.size() * p.dim);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    prepare_vector(p.metric, vectors.row(i), prepared.data() + i * p.dim,
                   fmt::format("row {} (id {})", i, ids[i]));
  }
  if (threads == 0) threads = std::max(1U, std::thread::hardware_concurrency());
  // Chunks bound how long searches wait for the exclusive lock.
  const std::size_t chunk = std::max<std::size_t>(256, 64 * threads);
  for (std::size_t begin = 0; begin < ids.size(); begin += chunk) {
    const std::size_t end = std::min(ids.size(), begin + chunk);
    std::unique_lock lock(impl_->mutex);
    impl_->own_memory();
    impl_->grow_for(end - begin);
    for (std::size_t i = begin; i < end; ++i) impl_->erase_label(ids[i]);
    graph_t& g = *impl_->graph;
    auto insert = [&](std::size_t i) {
      g.addPoint(prepared.data() + i * p.dim, static_cast<hnswlib::labeltype>(ids[i]));
    };
    const std::size_t first_node = g.cur_element_count;
    const std::size_t workers = std::min(threads, end - begin);
    auto encode_new = [&] { impl_->nodes_added(first_node, g.cur_element_count); };
    if (workers <= 1) {
      try {
        for (std::size_t i = begin; i < end; ++i) insert(i);
      } catch (...) {
        encode_new();  // the nodes inserted before the failure are searchable
        throw;
      }
      encode_new();
      continue;
    }
    std::atomic<std::size_t> next{begin};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    std::vector<std::thread> pool;
    pool.reserve(workers);
    for (std::size_t t = 0; t < workers; ++t) {
      pool.emplace_back([&] {
        for (std::size_t i = next++; i < end; i = next++) {
          try {
            insert(i);
          } catch (...) {
            const std::lock_guard guard(failure_mutex);
            if (!failure) failure = std::current_exception();
          }
        }
      });
    }
    for (auto& t : pool) t.join();
    encode_new();
    if (failure) std::rethrow_exception(failure);
  }
}

void hnsw_index::remove(std::uint64_t id) {
  std::unique_lock lock(impl_->mutex);
  impl_->own_memory();
  if (!impl_->erase_label(id)) raise<not_found>(where, "id {} is not in the index", id);
}

void hnsw_index::reserve(std::size_t capacity) {
  std::unique_lock lock(impl_->mutex);
  impl_->own_memory();
  if (capacity > impl_->graph->max_elements_) impl_->graph->resizeIndex(capacity);
}

bool hnsw_index::contains(std::uint64_t id) const {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph->label_lookup_.count(static_cast<hnswlib::labeltype>(id)) != 0;
}

std::vector<float> hnsw_index::vector(std::uint64_t id) const {
  std::shared_lock lock(impl_->mutex);
  const auto& g = *impl_->graph;
  auto it = g.label_lookup_.find(static_cast<hnswlib::labeltype>(id));
  if (it == g.label_lookup_.end()) raise<not_found>(where, "id {} is not in the index", id);
  const auto* data = reinterpret_cast<const float*>(g.getDataByInternalId(it->second));
  return {data, data + impl_->params.dim};
}

std::size_t hnsw_index::size() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->live();
}
std::size_t hnsw_index::num_nodes() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph->cur_element_count;
}
std::size_t hnsw_index::capacity() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph->max_elements_;
}
const hnsw_options& hnsw_index::options() const noexcept {
  return impl_->params;
}
std::size_t hnsw_index::bytes_per_node() const {
  std::shared_lock lock(impl_->mutex);
  const auto& codec = impl_->codec;
  // The code, and per node offset . code (inner product, cosine) or the residual (L2).
  const std::size_t code_bytes = !codec ? 0 : codec->stride() + sizeof(float);
  // The projection record of the bound scan.
  const std::size_t projection_bytes = !impl_->proj ? 0 : impl_->proj->stride() * sizeof(float);
  // hnswlib's node (vector, links, id) and the dense copy of the id the filters read.
  return impl_->graph->size_data_per_element_ + sizeof(std::uint64_t) + code_bytes +
         projection_bytes;
}
void hnsw_index::quantize() {
  std::unique_lock lock(impl_->mutex);
  impl_->quantize();
}
bool hnsw_index::quantized() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->codec.has_value();
}
void hnsw_index::project(std::size_t dims) {
  std::unique_lock lock(impl_->mutex);
  impl_->project(dims);
}
std::size_t hnsw_index::projected_dims() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->proj ? impl_->proj->dims() : 0;
}
std::size_t hnsw_index::default_ef() const noexcept {
  return impl_->default_ef.load();
}
void hnsw_index::set_default_ef(std::size_t ef) {
  if (ef == 0) raise<invalid_argument>(where, "ef must be > 0");
  impl_->default_ef.store(ef);
}

candidate_list hnsw_index::search(row_view query, std::size_t k, const search_options& options,
                                  const filter& allowed) const {
  candidate_list out;
  impl_->search(query, k, options, allowed, out);
  return out;
}
filter_strategy hnsw_index::choose_strategy(std::size_t k, const search_options& options,
                                            const filter& allowed) const {
  std::shared_lock lock(impl_->mutex);
  return impl_->choose(k == 0 ? 1 : k, options, allowed).strategy;
}
std::vector<candidate_list> hnsw_index::search_batch(matrix_view queries, std::size_t k,
                                                     const search_options& options,
                                                     const filter& allowed) const {
  return impl_->search_batch(queries, k, options, allowed);
}
void hnsw_index::search_into(row_view query, std::size_t k, const search_options& options,
                             const filter& allowed, candidate_list& out) const {
  impl_->search(query, k, options, allowed, out);
}

std::string hnsw_index::serialize() const {
  return impl_->serialize();
}

void hnsw_index::save(const std::filesystem::path& path) const {
  write_file_atomic(path, serialize());
}

hnsw_index hnsw_index::load(const std::filesystem::path& path, const hnsw_load_options& options) {
  if (!options.memory_map) {
    const std::string bytes = read_file(path);
    return hnsw_index(
        graph_from_file(detail::parse_hnsw_file(bytes, path.string(), options.verify_values), bytes,
                        path.string(), {}));
  }
  mapped_file mapping(path);
  const std::string_view bytes = mapping.bytes();
  const auto file = detail::parse_hnsw_file(bytes, path.string(), options.verify_values);
  return hnsw_index(graph_from_file(file, bytes, path.string(), std::move(mapping)));
}

// ---- raw hnswlib for benchmarks -----------------------------------------------------------------

namespace detail {

std::vector<std::pair<float, std::uint64_t>> raw_search_knn(const hnsw_index& index,
                                                            const float* query, std::size_t k,
                                                            std::size_t ef) {
  const auto& state = index.internals();
  std::shared_lock lock(state.mutex);
  state.graph->setEf(ef);
  auto result = state.graph->searchKnn(query, k);
  std::vector<std::pair<float, std::uint64_t>> out(result.size());
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = {result.top().first, static_cast<std::uint64_t>(result.top().second)};
    result.pop();
  }
  return out;
}

struct raw_hnswlib::state {
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<graph_t> graph;
};

raw_hnswlib::raw_hnswlib(std::size_t dim, metric m, std::size_t capacity, std::size_t M,
                         std::size_t ef_construction, std::size_t seed)
    : state_(std::make_unique<state>()) {
  state_->space = make_space(m, dim);
  state_->graph =
      std::make_unique<graph_t>(state_->space.get(), capacity, M, ef_construction, seed);
}
raw_hnswlib::~raw_hnswlib() = default;
void raw_hnswlib::add(const float* vector, std::uint64_t label) {
  state_->graph->addPoint(vector, static_cast<hnswlib::labeltype>(label));
}
std::vector<std::pair<float, std::uint64_t>> raw_hnswlib::search_knn(const float* query,
                                                                     std::size_t k,
                                                                     std::size_t ef) {
  state_->graph->setEf(ef);
  auto result = state_->graph->searchKnn(query, k);
  std::vector<std::pair<float, std::uint64_t>> out(result.size());
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = {result.top().first, static_cast<std::uint64_t>(result.top().second)};
    result.pop();
  }
  return out;
}

}  // namespace detail

}  // namespace funnel::retrieval
