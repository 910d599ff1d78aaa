#pragma once
/// @file explore.hpp
/// @brief Exploration slots: positions reserved for items an exploration policy (a bandit)
/// chooses, each logged with the propensity the policy reports, for off-policy evaluation.

#include <funnel/core/random.hpp>
#include <funnel/rerank/slate.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <span>
#include <utility>
#include <vector>

namespace funnel::rerank {

/// @brief What an exploration policy returns: an index into the pool it was shown and the
/// probability with which it chose that index (given that pool).
struct exploration_choice {
  std::size_t index = 0;
  double propensity = 1.0;
};

/// @brief A policy choosing one candidate of a pool. `choose` is const (called concurrently
/// from many requests) and draws its randomness from the rng it is given (seeded per request
/// from context::seed, so a logged seed replays the choice).
template <class P>
concept ExplorationPolicy = requires(const P& p, std::span<const candidate> pool, funnel::rng& r) {
  { p.choose(pool, r) } -> std::convertible_to<exploration_choice>;
};

/// @brief Uniformly random choice from the pool: propensity 1 / |pool|.
struct uniform_exploration {
  [[nodiscard]] exploration_choice choose(std::span<const candidate> pool,
                                          funnel::rng& r) const noexcept {
    const auto i = static_cast<std::size_t>(r.below(pool.size()));
    return {i, 1.0 / static_cast<double>(pool.size())};
  }
};

/// @brief A type-erased policy (e.g. an adapter around a funnel::bandits policy, see
/// docs/rerank.md), for chains configured at run time.
struct callback_exploration {
  std::function<exploration_choice(std::span<const candidate>, funnel::rng&)> fn;
  [[nodiscard]] exploration_choice choose(std::span<const candidate> pool, funnel::rng& r) const {
    return fn(pool, r);
  }
};

/// @brief explore_slots' options.
struct explore_slots_options {
  /// How many items, from the reserved position down, the policy chooses among; 0 = all below.
  std::size_t pool_depth = 0;
};

/// @brief Puts, at each reserved position p (ascending), the item the policy picks among the
/// items currently at positions p .. p + pool_depth - 1 (all below p when pool_depth = 0). The
/// items between shift down by one. Positions past the slate's end are skipped. The choice's
/// propensity is recorded in the item's trace.
template <ExplorationPolicy Policy>
class explore_slots : public detail::configured_reranker<explore_slots_options> {
 public:
  /// @throws invalid_argument when two reserved positions are equal.
  explore_slots(std::vector<std::size_t> positions, Policy policy,
                const explore_slots_options& options = {})
      : configured_reranker(options), positions_(std::move(positions)), policy_(std::move(policy)) {
    std::sort(positions_.begin(), positions_.end());
    if (std::adjacent_find(positions_.begin(), positions_.end()) != positions_.end()) {
      raise<invalid_argument>("rerank.explore_slots", "reserved positions must be distinct");
    }
  }
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }

  /// @throws invalid_argument when the policy returns an index outside the pool or a
  /// propensity outside (0, 1] (a propensity of 0 would make every off-policy estimate divide
  /// by zero).
  void rerank(slate& s, const context& ctx) const {
    funnel::rng r(ctx.seed);
    auto& e = s.mutable_entries();
    auto& pool = s.scratch().c0;
    for (const auto p : positions_) {
      if (p >= e.size()) break;
      const std::size_t depth = o_.pool_depth;
      const std::size_t end = (depth == 0 || depth >= e.size() - p) ? e.size() : p + depth;
      pool.clear();
      for (std::size_t i = p; i < end; ++i) pool.push_back(e[i].item);
      const exploration_choice c = policy_.choose(std::span<const candidate>(pool), r);
      if (c.index >= pool.size()) {
        raise<invalid_argument>("rerank.explore_slots",
                                "policy chose index {} from a pool of {} at position {}", c.index,
                                pool.size(), p);
      }
      if (!(c.propensity > 0.0 && c.propensity <= 1.0)) {
        raise<invalid_argument>("rerank.explore_slots",
                                "policy reported propensity {} at position {}; must be in (0, 1]",
                                c.propensity, p);
      }
      const auto from = static_cast<std::ptrdiff_t>(p + c.index);
      std::rotate(e.begin() + static_cast<std::ptrdiff_t>(p), e.begin() + from,
                  e.begin() + from + 1);
      s.mark(e[p].origin, rule::exploration);
      s.set_propensity(e[p].origin, c.propensity);
    }
  }

 private:
  std::vector<std::size_t> positions_;
  Policy policy_;
};

}  // namespace funnel::rerank
