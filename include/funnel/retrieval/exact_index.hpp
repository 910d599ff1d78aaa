#pragma once
/// @file exact_index.hpp
/// @brief Brute-force nearest neighbours with Eigen (batched GEMM): ground truth for recall, and
/// the right index for small catalogs.

#include <funnel/core/views.hpp>
#include <funnel/retrieval/filter.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace funnel::retrieval {

/// @brief Exact k-nearest-neighbour search over a set of vectors. Scores follow the same
/// conventions as `hnsw_index` (see `metric`), so the two are interchangeable `Retriever`s.
/// Every `const` member is safe to call concurrently; `add` and `remove` are not safe
/// concurrently with any other call (synchronise externally, or rebuild and swap the index).
class exact_index {
 public:
  /// @brief Copies `vectors` (row i has id `ids[i]`), normalizing for cosine.
  /// @throws dimension_mismatch when sizes disagree; invalid_argument on a non-finite value, a
  /// repeated id, or a zero vector with cosine.
  exact_index(std::span<const std::uint64_t> ids, matrix_view vectors, retrieval::metric metric);

  /// @brief Inserts `vector` under `id`, replacing the vector already stored under `id` (an id
  /// added after remove() is searchable again). O(dim) amortised.
  /// @throws dimension_mismatch (vector.size() != dim()), invalid_argument (a non-finite value,
  /// a zero vector with cosine, 2^32 - 1 items).
  void add(std::uint64_t id, row_view vector);
  /// @brief Deletes `id`: no search returns it afterwards. O(size() * dim()) (rows after it
  /// move up, keeping the tie order of the rest). @throws not_found if `id` is not in the index.
  void remove(std::uint64_t id);
  /// @brief Whether `id` is in the index.
  [[nodiscard]] bool contains(std::uint64_t id) const noexcept { return rows_.contains(id); }

  /// @brief The k best items for one query, best first (ties: earlier-added item first).
  /// @throws dimension_mismatch, invalid_argument (non-finite query).
  [[nodiscard]] candidate_list search(row_view query, std::size_t k,
                                      const filter& allowed = {}) const;
  /// @brief The k best items for each row of `queries`, computed block-wise as one GEMM per
  /// block of queries x block of items (the fast path for ground truth).
  [[nodiscard]] std::vector<candidate_list> search_batch(matrix_view queries, std::size_t k,
                                                         const filter& allowed = {}) const;

  /// @brief Retriever interface (see `hnsw_index::retrieve`).
  template <class Allow = allow_all>
  [[nodiscard]] candidate_list retrieve(row_view query, std::size_t k,
                                        const Allow& allow = {}) const {
    if constexpr (std::is_same_v<Allow, allow_list> || std::is_same_v<Allow, filter>) {
      return search(query, k, allow);
    } else {
      return search(query, k, filter::where(allow));
    }
  }

  /// @brief Number of items.
  [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }
  /// @brief Vector dimension.
  [[nodiscard]] std::size_t dim() const noexcept { return dim_; }
  /// @brief The metric.
  [[nodiscard]] retrieval::metric metric() const noexcept { return metric_; }

 private:
  [[nodiscard]] matrix_view vectors() const noexcept {
    return {vectors_.data(), ids_.size(), dim_};
  }
  /// @brief Writes `v` (checked, normalised for cosine) into row `row`.
  void store(std::size_t row, row_view v, std::string_view what);

  std::vector<std::uint64_t> ids_;
  std::size_t dim_ = 0;
  std::vector<float> vectors_;                             // row-major, normalized for cosine
  std::vector<float> norms2_;                              // squared norms (l2)
  std::unordered_map<std::uint64_t, std::uint32_t> rows_;  // id -> row
  retrieval::metric metric_;
};

}  // namespace funnel::retrieval
