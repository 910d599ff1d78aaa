#pragma once
/// @file concurrent.hpp
/// @brief Sharing one bandit policy between threads. Two patterns:
///
/// 1. `shared_policy<P>`: one policy behind a reader-writer lock. select takes the shared lock
///    (many threads choose at once, each with its own funnel::rng), update takes the exclusive
///    lock. Simple and always current; throughput is bounded by the update lock.
/// 2. Replicas: each thread (or machine) owns `p.replica(seed)`, selects and updates it without
///    any lock, and periodically hands it to `merge` on the shared state, then takes a fresh
///    replica. Lock-free on the hot path; decisions lag by one sync period.

#include <funnel/bandits/common.hpp>

#include <mutex>
#include <shared_mutex>
#include <utility>

namespace funnel::bandits {

/// @brief A policy P (mab or linear_bandit) guarded by a std::shared_mutex; see the file comment.
template <class P>
class shared_policy {
public:
  explicit shared_policy(P policy) : policy_(std::move(policy)) {}

  /// @brief Non-contextual select under the shared lock, randomness from the caller's `g`.
  /// @throws as P::select.
  decision select(rng& g) const
    requires requires(const P& p, rng& r) { p.select(r); }
  {
    std::shared_lock lock(mutex_);
    return policy_.select(g);
  }
  /// @brief Contextual select under the shared lock. @throws as P::select.
  decision select(row_view context, rng& g) const
    requires requires(const P& p, row_view c, rng& r) { p.select(c, r); }
  {
    std::shared_lock lock(mutex_);
    return policy_.select(context, g);
  }
  /// @brief Update under the exclusive lock. @throws as P::update.
  void update(arm_id arm, double reward)
    requires requires(P& p) { p.update(arm_id{}, 0.0); }
  {
    std::unique_lock lock(mutex_);
    policy_.update(arm, reward);
  }
  /// @brief Contextual update under the exclusive lock. @throws as P::update.
  void update(arm_id arm, row_view context, double reward) {
    std::unique_lock lock(mutex_);
    policy_.update(arm, context, reward);
  }
  /// @brief Folds a replica's observations in (exclusive lock). @throws as P::merge.
  void merge(const P& replica) {
    std::unique_lock lock(mutex_);
    policy_.merge(replica);
  }
  /// @brief A replica of the current state for a worker (shared lock).
  [[nodiscard]] P replica(std::uint64_t seed) const {
    std::shared_lock lock(mutex_);
    return policy_.replica(seed);
  }
  /// @brief Runs `f(const P&)` under the shared lock (save, inspect).
  template <class F>
  decltype(auto) read(F&& f) const {
    std::shared_lock lock(mutex_);
    return std::forward<F>(f)(policy_);
  }
  /// @brief Runs `f(P&)` under the exclusive lock (add or remove arms, load).
  template <class F>
  decltype(auto) write(F&& f) {
    std::unique_lock lock(mutex_);
    return std::forward<F>(f)(policy_);
  }

private:
  P policy_;
  mutable std::shared_mutex mutex_;
};

}  // namespace funnel::bandits
