#pragma once
/// @file mab.hpp
/// @brief Non-contextual multi-armed bandits: epsilon-greedy (with decay), UCB1, Thompson sampling
/// (Beta-Bernoulli and Gaussian), softmax (Boltzmann). One class, `mab`, whose policy is chosen by
/// `mab_options::kind`, so that a service can switch policy from configuration and every policy
/// shares the production features: arms added and removed at run time, warm-start priors,
/// discounting or a sliding window, delayed and batched updates, top-k slates, a propensity on
/// every decision, seeded determinism, JSON save/load that continues bit for bit, and merging of
/// replicas' sufficient statistics.
///
/// Thread safety: `select(rng&) const`, `propensities`, `arms` are const and may run concurrently
/// with each other (each thread passing its own rng); `update`, `add_arm`, `remove_arm`, `merge`
/// and the rng-less `select()` mutate and need exclusive access (see concurrent.hpp for a
/// reader-writer wrapper and the replica + merge pattern).

#include <funnel/bandits/common.hpp>
#include <funnel/core/enum_names.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <limits>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace funnel::bandits {

/// @brief Which non-contextual policy a `mab` runs.
enum class policy_kind { epsilon_greedy, ucb1, thompson_bernoulli, thompson_gaussian, softmax };

/// @brief Names used in JSON and messages ("epsilon_greedy", "ucb1", ...): `to_string(kind)`,
/// `parse_enum<policy_kind>(name, where)` (core/enum_names.hpp).
constexpr auto enum_names_of(policy_kind) {
  return enum_names<policy_kind, 5>{"policy kind",
                                    {{{policy_kind::epsilon_greedy, "epsilon_greedy"},
                                      {policy_kind::ucb1, "ucb1"},
                                      {policy_kind::thompson_bernoulli, "thompson_bernoulli"},
                                      {policy_kind::thompson_gaussian, "thompson_gaussian"},
                                      {policy_kind::softmax, "softmax"}}}};
}
using funnel::to_string;

/// @brief Parameters of a `mab`. Each policy reads only its own fields (see docs/bandits.md).
struct mab_options {
  policy_kind kind = policy_kind::thompson_bernoulli;
  std::uint64_t seed = 0x5eed;  ///< seeds the policy's own generator
  double epsilon = 0.1;         ///< epsilon-greedy: exploration rate at t = 0
  double epsilon_decay = 0.0;   ///< epsilon_t = epsilon / (1 + epsilon_decay * t), t = updates
  double ucb_c = 1.0;           ///< UCB1: index = mean + ucb_c * sqrt(2 ln N / n)
  double temperature = 0.1;     ///< softmax: P(a) ~ exp(mean_a / temperature)
  double prior_alpha = 1.0;     ///< Beta-Bernoulli Thompson: Beta(prior_alpha, prior_beta) prior
  double prior_beta = 1.0;
  double prior_mean = 0.0;      ///< Gaussian Thompson: N(prior_mean, prior_variance) prior on the
  double prior_variance = 1.0;  ///< arm mean, rewards ~ N(mean, noise_variance)
  double noise_variance = 1.0;
  double discount = 1.0;   ///< multiply all statistics by this before each update (0, 1]
  std::size_t window = 0;  ///< > 0: statistics over the last `window` rewards only
  /// Thompson propensities are Monte Carlo estimates from this many posterior draws (standard
  /// error <= 0.5 / sqrt(samples), i.e. <= 0.016 at 1000), cached and refreshed after
  /// max(propensity_refresh, propensity_refresh_fraction * updates) updates.
  std::size_t propensity_samples = 1000;
  std::size_t propensity_refresh = 64;
  double propensity_refresh_fraction = 0.05;
};

/// @brief Warm start for one arm, as pseudo-observations: "as if we had already seen `n` rewards
/// summing to `sum` (and squares summing to `sum_sq`)" - e.g. from the arm's category or the
/// previous model. For Beta-Bernoulli, n = 10, sum = 3 means 3 successes in 10 trials.
struct arm_prior {
  double n = 0.0;
  double sum = 0.0;
  double sum_sq = 0.0;
};

/// @brief Read-only view of one arm's statistics (prior pseudo-observations included).
struct arm_summary {
  arm_id id = 0;
  double n = 0.0;     ///< (discounted) count
  double mean = 0.0;  ///< n > 0 ? sum / n : 0
};

/// @brief A multi-armed bandit; see the file comment for the feature list and thread safety.
class mab : public json_file_io<mab, 1> {
 public:
  /// @brief A policy with no arms yet. @throws invalid_argument naming a bad options field.
  explicit mab(const mab_options& options = {});

  /// @brief Adds an arm (optionally warm-started). @throws invalid_argument if `id` exists or the
  /// prior is negative / not finite (or, for Beta-Bernoulli, sum > n).
  void add_arm(arm_id id, arm_prior prior = {});
  /// @brief Removes an arm and its statistics. @throws not_found if unknown.
  void remove_arm(arm_id id);
  [[nodiscard]] bool has_arm(arm_id id) const noexcept { return find(id) != npos; }
  [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }
  /// @brief Statistics of every arm, in insertion order.
  [[nodiscard]] std::vector<arm_summary> arms() const;

  /// @brief Chooses an arm with the policy's own generator (deterministic given seed and history).
  /// @throws not_fitted if there are no arms.
  decision select() { return select(rng_); }
  /// @brief Chooses an arm drawing randomness from `g` (thread-safe with one `g` per thread).
  /// @throws not_fitted if there are no arms.
  decision select(rng& g) const;
  /// @brief Bandit form: the context is ignored. @throws not_fitted if no arms.
  decision select(row_view /*context*/) { return select(rng_); }

  /// @brief Fills `out` (one entry per arm, in arms() order) with P(select() = arm). Exact for
  /// epsilon-greedy, UCB1 and softmax; Monte Carlo (cached, see mab_options) for Thompson.
  /// @throws dimension_mismatch if out.size() != size().
  void propensities(std::span<double> out) const;

  /// @brief Chooses k distinct arms (k <= size()). out[j].propensity is the probability of
  /// out[j] at position j given out[0..j) (their product is the slate's probability): exact for
  /// epsilon-greedy, softmax (Plackett-Luce) and UCB1, Monte Carlo for Thompson.
  /// @throws invalid_argument if k > size() or out.size() < k; not_fitted if no arms.
  void select_slate(std::size_t k, std::span<decision> out);

  /// @brief Feeds back the reward of a decision (at any later time: delayed feedback is just a
  /// later call). @throws not_found for an unknown arm (e.g. removed meanwhile),
  /// invalid_argument for a non-finite reward or, for Beta-Bernoulli, one outside [0, 1].
  void update(arm_id arm, double reward);
  /// @brief Bandit form: the context is ignored. @throws as update(arm, reward).
  void update(arm_id arm, row_view /*context*/, double reward) { update(arm, reward); }
  /// @brief Applies rewards in order; all are validated before any is applied, so a bad batch
  /// changes nothing. @throws as update.
  void update_batch(std::span<const std::pair<arm_id, double>> rewards);

  /// @brief Adds another replica's observed statistics (not its priors) arm by arm; arms unknown
  /// here are added with the other's prior. merge(A fed s1, B fed s2) equals one policy fed s1
  /// and s2 (counts and sums add; exact for integer rewards). @throws invalid_argument if the
  /// kinds differ; unsupported with discounting or a window (their statistics do not add).
  void merge(const mab& other);
  /// @brief A copy for another thread or machine: its current statistics become its prior, so that
  /// merging it back later adds only what it observed itself. Seeded with `seed`.
  [[nodiscard]] mab replica(std::uint64_t seed) const;

  /// @brief Full state (config, statistics, window, rng, propensity cache) as JSON.
  [[nodiscard]] json to_json() const;
  /// @brief Restores a state written by to_json; continues bit for bit.
  /// @throws parse_error naming the field.
  [[nodiscard]] static mab from_json(const json& j);

  [[nodiscard]] const mab_options& options() const noexcept { return config_; }
  /// @brief Number of updates applied (the t of epsilon decay).
  [[nodiscard]] std::uint64_t updates() const noexcept { return updates_; }

 private:
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
  [[nodiscard]] std::size_t find(arm_id id) const noexcept {
    if (ids_.size() <= 32) {
      for (std::size_t i = 0; i < ids_.size(); ++i) {
        if (ids_[i] == id) return i;
      }
      return npos;
    }
    const auto it = index_.find(id);
    return it == index_.end() ? npos : it->second;
  }
  [[nodiscard]] std::size_t require(arm_id id) const;
  void check_reward(arm_id arm, double reward) const;
  void apply(std::size_t i, double reward);
  void rebuild_index();
  [[nodiscard]] double count_of(std::size_t i) const noexcept { return prior_n_[i] + n_[i]; }
  [[nodiscard]] double sum_of(std::size_t i) const noexcept { return prior_sum_[i] + sum_[i]; }
  [[nodiscard]] double mean_of(std::size_t i) const noexcept {
    const double n = count_of(i);
    return n > 0.0 ? sum_of(i) / n : 0.0;
  }
  // Softmax scores never-played arms as the best played mean, so new arms get tried.
  [[nodiscard]] double softmax_max_mean() const noexcept {
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      if (count_of(i) > 0.0) m = std::max(m, mean_of(i));
    }
    return std::isinf(m) ? 0.0 : m;
  }
  [[nodiscard]] double softmax_mean(std::size_t i, double max_mean) const noexcept {
    return count_of(i) > 0.0 ? mean_of(i) : max_mean;
  }
  [[nodiscard]] double current_epsilon() const noexcept {
    return config_.epsilon / (1.0 + config_.epsilon_decay * static_cast<double>(updates_));
  }
  [[nodiscard]] std::size_t greedy(std::span<const std::size_t> candidates) const noexcept;
  [[nodiscard]] double thompson_draw(std::size_t i, rng& g) const noexcept;
  [[nodiscard]] std::size_t thompson_argmax(rng& g) const noexcept;
  void refresh_propensities();
  void maybe_refresh_propensities();

  mab_options config_;
  std::vector<arm_id> ids_;
  std::unordered_map<arm_id, std::size_t> index_;
  std::vector<double> prior_n_, prior_sum_, prior_sum_sq_;
  std::vector<double> n_, sum_, sum_sq_;
  std::deque<std::pair<arm_id, double>> window_;
  std::uint64_t updates_ = 0;
  std::uint64_t replica_base_updates_ = 0;  // updates_ when this replica was made
  rng rng_;
  std::vector<double> cached_propensity_;  // Thompson only, aligned with ids_
  std::uint64_t updates_since_refresh_ = 0;
};

static_assert(Bandit<mab>);

// ---- hot path, inline -------------------------------------------------------------------------

inline double mab::thompson_draw(std::size_t i, rng& g) const noexcept {
  if (config_.kind == policy_kind::thompson_bernoulli) {
    const double n = count_of(i);
    const double s = sum_of(i);
    return g.beta(config_.prior_alpha + s, config_.prior_beta + (n - s));
  }
  // Conjugate normal: precision = 1/s0^2 + n/sigma^2, mean = (mu0/s0^2 + sum/sigma^2) / precision.
  const double precision = 1.0 / config_.prior_variance + count_of(i) / config_.noise_variance;
  const double mean =
      (config_.prior_mean / config_.prior_variance + sum_of(i) / config_.noise_variance) /
      precision;
  return g.normal(mean, 1.0 / std::sqrt(precision));
}

/// One Thompson round: a draw per arm, the index of the largest (the first on ties).
inline std::size_t mab::thompson_argmax(rng& g) const noexcept {
  std::size_t best = 0;
  double best_value = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    const double v = thompson_draw(i, g);
    if (v > best_value) {
      best_value = v;
      best = i;
    }
  }
  return best;
}

inline decision mab::select(rng& g) const {
  const std::size_t k = ids_.size();
  if (k == 0)
    raise<not_fitted>("bandits.mab", "{}: select() with no arms", to_string(config_.kind));
  std::size_t best = 0;
  switch (config_.kind) {
    case policy_kind::thompson_bernoulli:
    case policy_kind::thompson_gaussian: {
      best = thompson_argmax(g);
      return {ids_[best], cached_propensity_[best]};
    }
    case policy_kind::ucb1: {
      double total = 0.0;
      for (std::size_t i = 0; i < k; ++i) total += count_of(i);
      const double log_total = std::log(std::max(total, 1.0));
      double best_value = -std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < k; ++i) {
        const double n = count_of(i);
        if (n <= 0.0) return {ids_[i], 1.0};  // every arm once first, in insertion order
        const double v = sum_of(i) / n + config_.ucb_c * std::sqrt(2.0 * log_total / n);
        if (v > best_value) {
          best_value = v;
          best = i;
        }
      }
      return {ids_[best], 1.0};
    }
    case policy_kind::epsilon_greedy: {
      const double eps = current_epsilon();
      const std::size_t g_arm = greedy({});
      const double explore_each = eps / static_cast<double>(k);
      if (g.uniform() < eps) {
        const auto i = static_cast<std::size_t>(g.below(k));
        return {ids_[i], explore_each + (i == g_arm ? 1.0 - eps : 0.0)};
      }
      return {ids_[g_arm], 1.0 - eps + explore_each};
    }
    case policy_kind::softmax: {
      const double max_mean = softmax_max_mean();
      double total = 0.0;
      for (std::size_t i = 0; i < k; ++i)
        total += std::exp((softmax_mean(i, max_mean) - max_mean) / config_.temperature);
      double u = g.uniform() * total;
      for (std::size_t i = 0; i < k; ++i) {
        const double w = std::exp((softmax_mean(i, max_mean) - max_mean) / config_.temperature);
        if (u < w || i + 1 == k) return {ids_[i], w / total};
        u -= w;
      }
      break;
    }
  }
  return {ids_[best], 1.0};
}

inline void mab::update(arm_id arm, double reward) {
  const std::size_t i = require(arm);
  check_reward(arm, reward);
  apply(i, reward);
  maybe_refresh_propensities();
}

}  // namespace funnel::bandits
