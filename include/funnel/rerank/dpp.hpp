#pragma once
/// @file dpp.hpp
/// @brief Fast greedy MAP inference for a determinantal point process (Chen, Zhang & Zhou,
/// NeurIPS 2018, Algorithm 1 with the incremental Cholesky update, and Algorithm 2's sliding
/// window), over the quality/diversity kernel L = diag(q) S diag(q) (Kulesza & Taskar; the form
/// YouTube used, Wilhelm et al., CIKM 2018).

#include <funnel/rerank/similarity.hpp>
#include <funnel/rerank/slate.hpp>

#include <cstddef>
#include <vector>

namespace funnel::rerank {

/// @brief How item quality q_i is derived from the candidate score r_i.
enum class dpp_quality {
  /// q_i = exp(a r_i), a = theta / (2 (1 - theta)): maximises theta * sum r + (1 - theta) log det S
  /// (Chen et al. 2018, section 5). Scores may be any real number.
  exp_theta,
  /// q_i = r_i (Wilhelm et al. 2018: q is the predicted engagement). Scores must be >= 0.
  score,
};

/// @brief Which similarity S the kernel uses.
enum class dpp_similarity {
  /// S_ij = the slate's similarity (cosine or dot over embeddings, or the callback).
  direct,
  /// Wilhelm et al.: S_ii = 1, S_ij = alpha * exp(-||v_i - v_j||^2 / (2 sigma^2)) over the raw
  /// embeddings. alpha <= 1 keeps S positive semi-definite; alpha > 1 may not (the greedy then
  /// stops early, as the paper's projection step is not done here).
  youtube_rbf,
};

/// @brief Largest dpp_options::window accepted: a scrolling feed shows tens of items at once, and
/// a window at least as long as the slate is whole-slate diversity anyway. The window's factor
/// is sized by min(window, k) (k <= the candidates present), never by the window alone.
inline constexpr std::size_t dpp_max_window = 10'000;

/// @brief DPP parameters.
struct dpp_options {
  dpp_quality quality = dpp_quality::exp_theta;
  double theta = 0.7;  ///< relevance weight in [0, 1) for dpp_quality::exp_theta
  dpp_similarity kernel = dpp_similarity::direct;
  similarity_kind similarity = similarity_kind::cosine;  ///< for dpp_similarity::direct
  double alpha = 1.0;                                    ///< youtube_rbf off-diagonal scale
  double sigma = 1.0;                                    ///< youtube_rbf bandwidth
  /// Added to S's diagonal (L + jitter * diag(q^2)). With embeddings of dimension d the kernel
  /// has rank <= d and the plain greedy must stop after d picks; jitter keeps it going, and
  /// because it is scaled by q^2 the picks past the rank still follow quality.
  double jitter = 0.0;
  /// 0 = whole-slate diversity (Algorithm 1); w > 0 = each pick diversifies only against the
  /// previous w - 1 picks (Algorithm 2), which is what a scrolling feed shows at once;
  /// at most dpp_max_window.
  std::size_t window = 0;
  /// Stop when the best marginal gain d^2 falls below min_gain * max_i L_ii; the rest of the
  /// slate then follows in its previous order.
  double min_gain = 1e-10;
};

/// @brief Reorders the first context::k positions by greedy DPP MAP; unpicked items follow in
/// their previous order.
///
/// Without a window the greedy is run lazily: d_i^2 (item i's marginal gain) never grows as
/// items are picked, so a stale d_i^2 is an upper bound; items wait in a max-heap and only the
/// one on top is brought up to date (its missing Cholesky coordinates, O(d + k) each) until the
/// top is current. The picks are exactly Algorithm 1's (same tie rule: earlier position), at
/// O(N d) plus the refreshes, instead of O(N k (d + k)). The windowed variant is eager
/// (Algorithm 2: dropping a pick raises every d_i^2, so no bound survives): O(N k (d + w)).
class dpp : public detail::configured_reranker<dpp_options> {
 public:
  /// @throws invalid_argument on theta outside [0, 1), sigma <= 0, alpha < 0, jitter < 0,
  /// min_gain < 0 (or any of them not finite), or window > dpp_max_window.
  explicit dpp(const dpp_options& options = {});

  /// @brief Re-ranks `s`. Ties go to the item ranked earlier.
  /// @throws invalid_argument when the slate has neither embeddings nor a similarity callback,
  /// youtube_rbf is asked for without embeddings, or quality = score meets a negative score.
  void rerank(slate& s, const context& ctx) const;

 private:
  void rerank_lazy(slate& s, std::size_t k, const std::vector<double>& q) const;
  void rerank_windowed(slate& s, std::size_t k, const std::vector<double>& q) const;
};

}  // namespace funnel::rerank
