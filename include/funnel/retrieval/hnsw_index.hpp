#pragma once
/// @file hnsw_index.hpp
/// @brief An HNSW approximate nearest-neighbour index on hnswlib's graph, with external 64-bit
/// ids, per-query ef, filtered search, delete/update, search concurrent with writes, and
/// validated persistence. hnswlib itself stays out of this header (one translation unit only).

#include <funnel/core/enum_names.hpp>
#include <funnel/core/views.hpp>
#include <funnel/retrieval/filter.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace funnel::retrieval {

/// @brief Construction parameters of an `hnsw_index` (see docs/retrieval.md for choosing them).
struct hnsw_options {
  std::size_t dim = 0;                    ///< vector dimension (> 0)
  retrieval::metric metric = metric::l2;  ///< similarity
  std::size_t M = 16;                     ///< graph degree (level 0 holds 2*M links); 2..10000
  std::size_t ef_construction = 200;      ///< candidate list size while inserting (>= 1)
  std::size_t capacity = 0;               ///< initial capacity (grows automatically)
  std::uint64_t seed = 100;               ///< level generator seed (hnswlib's default is 100)
};

/// @brief How a filtered query is answered.
enum class filter_strategy {
  automatic,  ///< the cheaper of the two by the cost rule of `search_options` (docs/retrieval.md)
  graph,      ///< filtered graph search (falls back to a scan if it finds fewer than k)
  scan,       ///< exact scan of the allowed items
};

/// @brief Names "automatic", "graph", "scan" (`to_string`, `parse_enum`).
constexpr auto enum_names_of(filter_strategy) {
  return enum_names<filter_strategy, 3>{"filter strategy",
                                        {{{filter_strategy::automatic, "automatic"},
                                          {filter_strategy::graph, "graph"},
                                          {filter_strategy::scan, "scan"}}}};
}

/// @brief How `hnsw_index::load` opens a saved index.
struct hnsw_load_options {
  /// Serve the graph's level 0 (links, vectors, ids: almost all of the file) from a read-only
  /// memory mapping of the file instead of a copy: opening costs the checks below rather than a
  /// read of the whole file, and every process that opens the file shares its pages. The first
  /// write (`add`, `add_batch`, `remove`, `reserve`) copies it into memory. The file must not be
  /// changed in place while open; `save` replaces files by rename, which is safe.
  bool memory_map = false;
  /// Verify the stored values: the file's CRC-32 and that every vector value is finite, which
  /// reads every byte. The structural checks (sizes, flags, levels, links in range, unique ids)
  /// run either way, so an index loaded without this is still safe to search; a non-finite value
  /// it let through makes its item infinitely far (never returned ahead of a finite one).
  bool verify_values = true;
};

/// @brief Per-query search knobs.
///
/// The `automatic` filter rule compares two estimated costs, in distance computations, for a
/// catalog of N live items of which A are allowed (fraction f = A / N; an allow-list's size, or a
/// predicate's share in a 256-item sample) and ef' = max(ef, k):
///   scan  = A, plus N * 16 / (dim + 16) for a predicate (it is called on every item); on a
///           projected index (`hnsw_index::project`) A * ((m + 2) / dim + 0.05) instead of A,
///           reading m + 2 floats per item and scoring about 5% of them exactly;
///   graph = min(N, graph_visit_factor * ef'^(2/3) * M / f) (a filtered beam must pass about
///           1/f candidates per allowed result, each expansion scores up to 2M neighbours; the
///           ef'^(2/3) growth is measured, docs/benchmarks.md).
/// It scans when scan <= graph, i.e. below a break-even fraction of about
/// sqrt(graph_visit_factor * ef'^(2/3) * M / N): it falls as the catalog grows and rises with ef.
/// The estimate is an average over queries: a query far from every allowed item makes the beam
/// wander. So an automatic graph search scans instead once it has scored 2 k / f nodes without
/// finding any allowed one or 8 k / f without finding k (such a query finds none near it), or
/// once it has spent what the scan would cost (scan / 4 visits, a graph visit costing about 4
/// scanned items; at least 64 ef').
struct search_options {
  /// Candidate list size; recall rises and speed falls with it. 0 = the index's default_ef().
  /// The effective value is max(ef, k).
  std::size_t ef = 0;
  filter_strategy strategy = filter_strategy::automatic;  ///< filtered queries only
  /// Weight of the graph-search cost estimate above (a scanned item weighs 1). The default 5 is
  /// the break-even of a filter correlated with the vectors (one Fashion-MNIST class); filters
  /// independent of the vectors (random ids) break even at about 1 (docs/benchmarks.md). Raise
  /// it to scan more, lower it to search the graph more.
  double graph_visit_factor = 5.0;
  /// Walk the graph on the 8-bit codes when the index has them (`hnsw_index::quantize()`);
  /// false walks on the float vectors. Results are re-scored exactly either way.
  bool quantized_walk = true;
};

/// @brief An HNSW index over float vectors, keyed by external 64-bit ids.
///
/// Thread safety: every `const` member may run concurrently with every other member. Writers
/// (`add`, `add_batch`, `remove`, `reserve`) take an exclusive lock, readers a shared one;
/// `add_batch` releases the lock between chunks so long batches do not starve searches.
/// Delete marks the node deleted (it still routes searches, never appears in results); update is
/// delete + insert under the same id, so the replaced node's memory is not reclaimed.
class hnsw_index {
 public:
  /// @brief An empty index. @throws invalid_argument on dim == 0, M < 2 or M > 10000,
  /// ef_construction == 0.
  explicit hnsw_index(const hnsw_options& params);
  ~hnsw_index();
  hnsw_index(hnsw_index&&) noexcept;
  hnsw_index& operator=(hnsw_index&&) noexcept;
  hnsw_index(const hnsw_index&) = delete;
  hnsw_index& operator=(const hnsw_index&) = delete;

  /// @brief Inserts `vector` under `id`, replacing the vector already stored under `id`.
  /// @throws dimension_mismatch on a wrong length; invalid_argument on a non-finite value
  /// (or a zero vector with the cosine metric).
  void add(std::uint64_t id, row_view vector);
  /// @brief Inserts row i of `vectors` under `ids[i]` on `threads` threads (0 = hardware
  /// concurrency), replacing existing ids. With threads == 1 the graph is deterministic for a seed.
  /// @throws dimension_mismatch, invalid_argument (also on an id repeated within the batch);
  /// nothing is inserted if validation fails.
  void add_batch(std::span<const std::uint64_t> ids, matrix_view vectors, std::size_t threads = 1);
  /// @brief Deletes `id`. @throws not_found if `id` is not in the index.
  void remove(std::uint64_t id);
  /// @brief Grows the capacity to at least `capacity` nodes (deleted nodes count).
  void reserve(std::size_t capacity);

  /// @brief Whether `id` is in the index (not deleted).
  [[nodiscard]] bool contains(std::uint64_t id) const;
  /// @brief The stored vector of `id` (normalized for cosine). @throws not_found.
  [[nodiscard]] std::vector<float> vector(std::uint64_t id) const;
  /// @brief Number of live (not deleted) items.
  [[nodiscard]] std::size_t size() const;
  /// @brief Number of graph nodes including deleted ones.
  [[nodiscard]] std::size_t num_nodes() const;
  /// @brief Node capacity before the next reallocation.
  [[nodiscard]] std::size_t capacity() const;
  /// @brief The construction parameters (capacity as given).
  [[nodiscard]] const hnsw_options& options() const noexcept;
  /// @brief Bytes per stored node at level 0 (vector + 2*M links + id, a second 8-byte copy of
  /// the id for filters, plus the 8-bit code once quantized and the projection record once
  /// projected): the memory figure of docs/retrieval.md.
  [[nodiscard]] std::size_t bytes_per_node() const;

  /// @brief Fits 8-bit codes to the live vectors and encodes every node; from then on searches
  /// walk the graph on the codes (a quarter of the bytes per visited node) and re-score the ef
  /// results they find with the float vectors, so scores stay exact and only which items are
  /// found can change. One scale for all dimensions and an offset per dimension, fitted to the
  /// value ranges (docs/retrieval.md). Vectors added later are encoded with the same codes, values
  /// outside the fitted ranges clamped: call again to refit after the data has drifted.
  /// Costs dim rounded up to 64 bytes per node (+4 for inner product and cosine); saved and loaded
  /// with the index. @throws invalid_argument when the index holds no live vector.
  void quantize();
  /// @brief Whether `quantize()` has run (searches then walk on codes unless told otherwise).
  [[nodiscard]] bool quantized() const;

  /// @brief Fits a projection onto the top `dims` principal components of the live vectors (a
  /// sample of up to 4096) and projects every node; from then on exact scans (the scan strategy,
  /// and a graph search that falls back to one) bound every allowed item's distance from its
  /// `dims` projected values and score exactly only the items whose bound leaves them a chance:
  /// the same results as scoring all of them, for a fraction of the memory read
  /// (docs/retrieval.md). Vectors added later are projected with the same basis (the bound stays
  /// exact; call again to refit after the data has drifted). Costs (dims + 2) * 4 bytes per node
  /// (dims is capped at dim); saved and loaded with the index.
  /// @throws invalid_argument on dims == 0 or when the index holds no live vector.
  void project(std::size_t dims = 64);
  /// @brief The projected dimension of `project()`, 0 before it ran.
  [[nodiscard]] std::size_t projected_dims() const;

  /// @brief The ef used when a query passes ef = 0 (initially 10, like hnswlib).
  [[nodiscard]] std::size_t default_ef() const noexcept;
  /// @brief Sets default_ef() (atomic; safe while searching). @throws invalid_argument on 0.
  void set_default_ef(std::size_t ef);

  /// @brief The k nearest items to `query` allowed by `allowed`, best first. Returns fewer than k
  /// only when fewer than k live items are allowed.
  /// @throws dimension_mismatch if query.size() != dim; invalid_argument on a non-finite query
  /// or a negative or non-finite graph_visit_factor.
  [[nodiscard]] candidate_list search(row_view query, std::size_t k,
                                      const search_options& options = {},
                                      const filter& allowed = {}) const;
  /// @brief `search` for every row of `queries` (same k, options and filter), one list per row.
  /// Queries the exact scan answers (the scan strategy, or a graph search that gave up) share
  /// one pass over the allowed items, each block of them read once for all those queries.
  /// @throws as `search` (invalid_argument names the row of a non-finite query).
  [[nodiscard]] std::vector<candidate_list> search_batch(matrix_view queries, std::size_t k,
                                                         const search_options& options = {},
                                                         const filter& allowed = {}) const;
  /// @brief The strategy `search` would use for these arguments (`graph` when `allowed` allows
  /// everything; the forced strategy unless `options.strategy` is automatic).
  [[nodiscard]] filter_strategy choose_strategy(std::size_t k, const search_options& options,
                                                const filter& allowed) const;
  /// @brief As `search`, writing into `out` (reused across calls to avoid reallocation).
  void search_into(row_view query, std::size_t k, const search_options& options,
                   const filter& allowed, candidate_list& out) const;

  /// @brief Retriever interface: `search` with a callable filter (`allow_all`, a lambda on the
  /// id) or an `allow_list`, and per-query `options` (ef, filter strategy; default: the index's
  /// default_ef(), automatic).
  /// @throws as `search`.
  template <class Allow = allow_all>
  [[nodiscard]] candidate_list retrieve(row_view query, std::size_t k, const Allow& allow = {},
                                        const search_options& options = {}) const {
    if constexpr (std::is_same_v<Allow, allow_list> || std::is_same_v<Allow, filter>) {
      return search(query, k, options, allow);
    } else {
      return search(query, k, options, filter::where(allow));
    }
  }
  /// @brief Retriever interface without a filter, with per-query `options` (ef ...).
  /// @throws as `search`.
  [[nodiscard]] candidate_list retrieve(row_view query, std::size_t k,
                                        const search_options& options) const {
    return search(query, k, options, {});
  }

  /// @brief The index as bytes in funnel's format (header, graph, CRC-32 trailer).
  [[nodiscard]] std::string serialize() const;
  /// @brief Parses and structurally validates `bytes`; `source` names it in errors.
  /// @throws parse_error (truncated, corrupted, inconsistent), unsupported (newer format version).
  [[nodiscard]] static hnsw_index deserialize(std::string_view bytes, std::string_view source);
  /// @brief Writes the index atomically (a crash leaves the old file). @throws io_error.
  void save(const std::filesystem::path& path) const;
  /// @brief Loads a saved index, copied into memory or memory-mapped (`hnsw_load_options`).
  /// @throws io_error, parse_error, unsupported.
  [[nodiscard]] static hnsw_index load(const std::filesystem::path& path,
                                       const hnsw_load_options& options = {});

  struct impl;  ///< hnswlib-backed state (src/retrieval/hnsw_index.cpp)
  /// @brief Implementation access for funnel's own benchmarks (src/retrieval/hnsw_reference.hpp).
  [[nodiscard]] const impl& internals() const noexcept { return *impl_; }

 private:
  explicit hnsw_index(std::unique_ptr<impl> state) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace funnel::retrieval
