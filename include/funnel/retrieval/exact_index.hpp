#pragma once
/// @file exact_index.hpp
/// @brief Brute-force nearest neighbours with Eigen (batched GEMM): ground truth for recall, and
/// the right index for small catalogs.

#include <funnel/core/views.hpp>
#include <funnel/retrieval/filter.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace funnel::retrieval {

/// @brief Exact k-nearest-neighbour search over a fixed set of vectors. Scores follow the same
/// conventions as `hnsw_index` (see `metric`), so the two are interchangeable `Retriever`s.
/// Immutable after construction, so every member is safe to call concurrently.
class exact_index {
 public:
  /// @brief Copies `vectors` (row i has id `ids[i]`), normalizing for cosine.
  /// @throws dimension_mismatch when sizes disagree; invalid_argument on a non-finite value, a
  /// repeated id, or a zero vector with cosine.
  exact_index(std::span<const std::uint64_t> ids, matrix_view vectors, retrieval::metric metric);

  /// @brief The k best items for one query, best first (ties: smaller row first).
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
  [[nodiscard]] std::size_t dim() const noexcept { return vectors_.cols(); }
  /// @brief The metric.
  [[nodiscard]] retrieval::metric metric() const noexcept { return metric_; }

 private:
  std::vector<std::uint64_t> ids_;
  matrix vectors_;             // normalized for cosine
  std::vector<float> norms2_;  // squared norms (l2)
  retrieval::metric metric_;
};

}  // namespace funnel::retrieval
