#pragma once
/// @file retrieval.hpp
/// @brief Quality of candidate retrieval: recall@k of an approximate search against the exact one.

#include <funnel/core/views.hpp>

#include <cstddef>
#include <span>

namespace funnel::metrics {

/// @brief Mean recall@k of `found` against `truth` (one list per query, best first): the share of
/// each truth list's first `k` ids that appear among the first `k` found ids. A query whose truth
/// has fewer than `k` items is scored against those it has; a query with empty truth counts as 1.
/// @throws dimension_mismatch if the numbers of queries differ.
[[nodiscard]] double recall_at_k(std::span<const candidate_list> found,
                                 std::span<const candidate_list> truth, std::size_t k);

}  // namespace funnel::metrics
