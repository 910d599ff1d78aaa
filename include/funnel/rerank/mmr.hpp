#pragma once
/// @file mmr.hpp
/// @brief Maximal marginal relevance (Carbonell & Goldstein, SIGIR 1998): greedily pick the item
/// maximising  lambda * relevance - (1 - lambda) * max similarity to the items already picked.

#include <funnel/rerank/similarity.hpp>
#include <funnel/rerank/slate.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace funnel::rerank {

/// @brief MMR parameters.
struct mmr_options {
  /// Trade-off in [0, 1]: 1 = pure relevance order, 0 = pure novelty (after the first pick).
  double lambda = 0.7;
  similarity_kind similarity = similarity_kind::cosine;  ///< used when the slate has embeddings
};

/// @brief Reorders the first context::k positions by MMR; the unpicked items follow in their
/// previous order (so later rules can still backfill from them). Relevance is the candidate
/// score as it is: put it on the scale of the similarity (e.g. a probability vs. cosine) first.
///
/// Lazy greedy: an item's MMR value can only fall as items are picked (its max-similarity only
/// grows), so stale values are upper bounds. Items wait in a max-heap under their last value;
/// the top is brought up to date against the picks it has not seen and re-pushed, until the top
/// is current: that item is exactly the eager greedy's argmax (same tie rule). Similarities are
/// computed on demand straight from the embedding view (no gather), so a request touches only
/// the items that come near the top (after one full pass against the first pick, whose
/// similarity may be negative and so raise values). Worst case O(N k d + N k log N); typically
/// O(N d) plus a few dozen refreshes per pick.
class mmr : public detail::configured_reranker<mmr_options> {
 public:
  /// @throws invalid_argument when options.lambda is outside [0, 1].
  explicit mmr(const mmr_options& options = {});

  /// @brief Re-ranks `s`. Ties go to the item ranked earlier.
  /// @throws invalid_argument when the slate has neither embeddings nor a similarity callback,
  /// or a similarity it needs is NaN (a NaN in an embedding).
  void rerank(slate& s, const context& ctx) const;
};

}  // namespace funnel::rerank
