#pragma once
/// @file mmr.hpp
/// @brief Maximal marginal relevance (Carbonell & Goldstein, SIGIR 1998): greedily pick the item
/// maximising  lambda * relevance - (1 - lambda) * max similarity to the items already picked.

#include <funnel/rerank/similarity.hpp>
#include <funnel/rerank/slate.hpp>

#include <algorithm>
#include <cstddef>
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
/// O(N k d) with embeddings; O(N k) callback calls otherwise.
class mmr {
public:
  /// @throws invalid_argument when lambda is outside [0, 1].
  explicit mmr(mmr_options o = {}) : o_(o) {
    if (!(o.lambda >= 0.0 && o.lambda <= 1.0)) {
      raise<invalid_argument>("rerank.mmr", "lambda = {} is outside [0, 1]", o.lambda);
    }
  }
  [[nodiscard]] const mmr_options& options() const noexcept { return o_; }

  /// @brief Re-ranks `s`. Ties go to the item ranked earlier.
  /// @throws invalid_argument when the slate has neither embeddings nor a similarity callback.
  void rerank(slate& s, const context& ctx) const {
    const std::size_t n = s.size();
    const std::size_t k = std::min(ctx.k, n);
    if (k == 0) return;
    detail::similarity_rows sims(s, n, o_.similarity, "rerank.mmr");
    auto& sc = s.scratch();
    auto& maxsim = sc.d0;
    auto& row = sc.f2;
    auto& picked = sc.b0;
    auto& order = sc.u0;
    auto& before = sc.u1;
    detail::snapshot(s, before);
    maxsim.assign(n, 0.0);
    row.resize(n);
    picked.assign(n, 0);
    order.clear();
    const auto e = s.entries();
    const double lambda = o_.lambda;
    for (std::size_t step = 0; step < k; ++step) {
      std::size_t best = n;
      double best_value = -std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < n; ++i) {
        if (picked[i]) continue;
        const double v = lambda * static_cast<double>(e[i].item.score) -
                         (step == 0 ? 0.0 : (1.0 - lambda) * maxsim[i]);
        if (v > best_value || best == n) {
          best_value = v;
          best = i;
        }
      }
      picked[best] = 1;
      order.push_back(static_cast<std::uint32_t>(best));
      if (step + 1 == k) break;
      sims.row(best, row);
      for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(row[i]);
        if (step == 0 || v > maxsim[i]) maxsim[i] = v;
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!picked[i]) order.push_back(static_cast<std::uint32_t>(i));
    }
    s.reorder(order);
    detail::mark_moved(s, before, rule::mmr);
  }

private:
  mmr_options o_;
};

}  // namespace funnel::rerank
