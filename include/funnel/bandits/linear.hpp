#pragma once
/// @file linear.hpp
/// @brief Contextual linear bandits with disjoint models (one ridge regression per arm): LinUCB
/// (Li, Chu, Langford & Schapire 2010) and linear Thompson sampling (Agrawal & Goyal 2013).
/// Per arm: A = lambda I + sum x x^T, b = sum r x, theta = A^-1 b; A^-1 is kept up to date by
/// Sherman-Morrison (O(d^2) per update), so select costs O(K d^2) and allocates nothing.
///
/// Thread safety as mab: const members (select(context, rng&), scores) may run concurrently;
/// update / add_arm / remove_arm / merge need exclusive access. Stationary statistics only (no
/// discount or window).

#include <funnel/bandits/common.hpp>
#include <funnel/core/enum_names.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/serialize.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <span>
#include <vector>

namespace funnel::bandits {

/// @brief Which linear policy a `linear_bandit` runs.
enum class linear_kind { lin_ucb, lin_thompson };

/// @brief Names "lin_ucb", "lin_thompson" (`to_string`, `parse_enum`).
constexpr auto enum_names_of(linear_kind) {
  return enum_names<linear_kind, 2>{
      "linear bandit kind",
      {{{linear_kind::lin_ucb, "lin_ucb"}, {linear_kind::lin_thompson, "lin_thompson"}}}};
}
using funnel::to_string;

/// @brief Parameters of a linear_bandit.
struct linear_bandit_options {
  linear_kind kind = linear_kind::lin_ucb;
  std::size_t dimension = 0;    ///< context length d (> 0)
  double alpha = 1.0;           ///< LinUCB: index = theta.x + alpha sqrt(x^T A^-1 x)
  double lambda = 1.0;          ///< ridge prior: A starts at lambda I
  double v = 0.5;               ///< linear Thompson: theta ~ N(theta_hat, v^2 A^-1)
  std::uint64_t seed = 0x5eed;  ///< seeds the policy's own generator
  /// Linear Thompson propensities are Monte Carlo estimates from this many draws of all arms'
  /// parameters for the decision's own context (cost: samples x K x d^2 per decision).
  std::size_t propensity_samples = 200;
};

/// @brief A contextual bandit; see the file comment.
class linear_bandit : public json_file_io<linear_bandit, 1> {
 public:
  /// @brief @throws invalid_argument naming the bad options field.
  explicit linear_bandit(const linear_bandit_options& options);

  /// @brief Adds an arm with the ridge prior. @throws invalid_argument if it exists.
  void add_arm(arm_id id);
  /// @brief Removes an arm. @throws not_found if unknown.
  void remove_arm(arm_id id);
  [[nodiscard]] bool has_arm(arm_id id) const noexcept { return find(id) != npos; }
  [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }
  [[nodiscard]] std::span<const arm_id> arm_ids() const noexcept { return ids_; }

  /// @brief Chooses an arm for `context` with the policy's own generator.
  /// @throws dimension_mismatch on a wrong length, invalid_argument on a NaN/inf feature,
  /// not_fitted without arms.
  decision select(row_view context) { return select(context, rng_); }
  /// @brief Same, drawing from `g` (thread-safe with one generator per thread).
  decision select(row_view context, rng& g) const;

  /// @brief Feeds back the reward of choosing `arm` for `context`.
  /// @throws not_found (unknown arm), dimension_mismatch, invalid_argument (NaN context/reward).
  void update(arm_id arm, row_view context, double reward);

  /// @brief Point estimate theta_a . x of every arm (for logging or as a reward model in DR).
  /// @throws as select; dimension_mismatch if out.size() != size().
  void predict(row_view context, std::span<double> out) const;

  /// @brief Adds another replica's observations (sum x x^T and sum r x) arm by arm and
  /// re-inverts A. @throws invalid_argument if kinds, dimensions or lambdas differ.
  void merge(const linear_bandit& other);
  /// @brief A copy for another thread or machine whose observations so far count as prior, so that
  /// merging it back adds only its own. Seeded with `seed`.
  [[nodiscard]] linear_bandit replica(std::uint64_t seed) const;

  [[nodiscard]] json to_json() const;
  /// @throws parse_error naming the field.
  [[nodiscard]] static linear_bandit from_json(const json& j);
  [[nodiscard]] const linear_bandit_options& options() const noexcept { return config_; }

 private:
  using matrix = Eigen::MatrixXd;
  using vector = Eigen::VectorXd;
  struct arm_state {
    matrix a_obs;    // sum x x^T (observed only; lambda I and replica priors kept apart)
    vector b_obs;    // sum r x
    matrix a_prior;  // lambda I plus what a replica inherited
    vector b_prior;
    matrix a_inv;  // (a_prior + a_obs)^-1
    vector theta;  // a_inv (b_prior + b_obs)
    matrix chol;   // lower Cholesky factor of a_inv (linear Thompson)
  };
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
  [[nodiscard]] std::size_t find(arm_id id) const noexcept {
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] == id) return i;
    }
    return npos;
  }
  void check_context(row_view context) const;
  void refactor(arm_state& s) const;  // recompute a_inv, theta, chol from the sums
  std::size_t argmax_sample(const Eigen::Map<const Eigen::VectorXf>& x, rng& g,
                            vector& scratch_theta, vector& scratch_z) const;

  linear_bandit_options config_;
  std::vector<arm_id> ids_;
  std::vector<arm_state> arms_;
  rng rng_;
};

static_assert(Bandit<linear_bandit>);

}  // namespace funnel::bandits
