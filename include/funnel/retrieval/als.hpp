#pragma once
/// @file als.hpp
/// @brief Implicit-feedback matrix factorization by alternating least squares (Hu, Koren &
/// Volinsky, ICDM 2008), with the conjugate-gradient variant (Takács, Pilászy & Tikk, RecSys
/// 2011), user fold-in without retraining, and retrieval by inner product.

#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/core/views.hpp>
#include <funnel/retrieval/detail/top_k.hpp>
#include <funnel/retrieval/interactions.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

namespace funnel::retrieval {

/// @brief How each least-squares subproblem is solved.
enum class als_solver {
  cholesky,            ///< exact solve per user/item: O(f^3 + n f^2); loss never increases
  conjugate_gradient,  ///< a few CG steps warm-started from the previous factors: O(steps n f)
};

/// @brief Progress after one ALS iteration (both half-steps).
struct als_progress {
  std::size_t iteration = 0;  ///< 1-based
  double loss = 0.0;          ///< the full weighted objective (see docs/candidates.md)
  double seconds = 0.0;       ///< wall time of this iteration
};

/// @brief ALS hyper-parameters.
struct als_options {
  std::size_t factors = 64;     ///< embedding dimension f
  double regularization = 0.1;  ///< lambda on ||x_u||^2 and ||y_i||^2
  double alpha = 20.0;          ///< confidence c_ui = 1 + alpha * weight_ui
  std::size_t iterations = 15;  ///< full alternations
  std::uint64_t seed = 42;      ///< initialisation (N(0, 0.01^2))
  std::size_t threads = 0;      ///< 0 = std::thread::hardware_concurrency()
  als_solver solver = als_solver::cholesky;
  std::size_t cg_steps = 3;  ///< CG steps per subproblem (conjugate_gradient only)
  bool compute_loss = true;  ///< evaluate the objective each iteration (O(nnz f + (U+I) f^2))
  std::function<void(const als_progress&)> on_iteration{};  ///< optional progress callback
};

/// @brief A fitted ALS model: user and item factors plus the id maps of its training log.
/// `const` methods are thread-safe.
class als_model : public json_file_io<als_model> {
 public:
  // fit_als (below) builds the model from its private parts.
  friend als_model fit_als(const interaction_log& log, const als_options& options);

  /// @brief Users x factors, row u = dense user u.
  [[nodiscard]] const matrix& user_factors() const noexcept { return users_; }
  /// @brief Items x factors, row i = dense item i; load these into an inner-product hnsw_index.
  [[nodiscard]] const matrix& item_factors() const noexcept { return items_; }
  [[nodiscard]] const id_map& users() const noexcept { return user_ids_; }
  [[nodiscard]] const id_map& items() const noexcept { return item_ids_; }
  [[nodiscard]] std::size_t factors() const noexcept { return items_.cols(); }
  /// @brief The per-iteration progress of the fit.
  [[nodiscard]] const std::vector<als_progress>& history() const noexcept { return history_; }

  /// @brief A user vector from recent items without retraining: the exact least-squares solve of
  /// the user half-step against the fixed item factors. Unknown items are skipped; returns
  /// nullopt if no item of the history is known.
  /// @throws dimension_mismatch when weights are given with a different length.
  [[nodiscard]] std::optional<std::vector<float>> fold_in(
      std::span<const std::uint64_t> items, std::span<const float> weights = {}) const;

  /// @brief Top-k items by inner product with the user's vector (known user) or the folded-in
  /// history (unknown user). Returns an empty list when the user is unknown and no history item is
  /// known: the caller falls back (e.g. to popularity). History items are excluded if asked.
  template <class Allow = allow_all>
  [[nodiscard]] candidate_list retrieve(const user_query& query, std::size_t k,
                                        const Allow& allow = {}) const {
    std::vector<float> vec;
    if (query.user) {
      if (const auto u = user_ids_.find(*query.user)) {
        const auto r = users_.row(*u);
        vec.assign(r.begin(), r.end());
      }
    }
    if (vec.empty()) {
      auto folded = fold_in(query.history, query.history_weights);
      if (!folded) return {};
      vec = std::move(*folded);
    }
    const auto scores = score_all(vec);
    return detail::top_k(scores, k, item_ids_.externals(), excluded(query), allow);
  }

  /// @brief Inner products of `user_vector` with every item (dense item order).
  /// @throws dimension_mismatch if its length is not factors().
  [[nodiscard]] std::vector<float> score_all(std::span<const float> user_vector) const;

  /// @brief funnel JSON (type "funnel.retrieval.als_model"; from_json also reads the earlier
  /// type "als_model"); floats round-trip exactly.
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  static als_model from_json(const json& j);

 private:
  [[nodiscard]] std::vector<unsigned char> excluded(const user_query& query) const;

  void update_gram();

  matrix users_;
  matrix items_;
  std::vector<double> gram_;  // Y^T Y + lambda I (factors x factors), cached for fold-in
  id_map user_ids_;
  id_map item_ids_;
  double regularization_ = 0.1;
  double alpha_ = 20.0;
  std::vector<als_progress> history_;
};

/// @brief Fits on `log` (weights = implicit feedback strength, e.g. ratings or counts).
/// @throws invalid_argument on an empty log or bad options.
[[nodiscard]] als_model fit_als(const interaction_log& log, const als_options& options = {});

}  // namespace funnel::retrieval
