#pragma once
/// @file common.hpp
/// @brief Vocabulary shared by funnel's bandit policies: arm ids, decisions with propensities, the
/// narrow concept other modules (the re-ranker's exploration slots) program against.

#include <funnel/core/json.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/views.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>

namespace funnel::bandits {

/// @brief Largest Monte Carlo sample count a policy accepts for its propensities
/// (mab_options::propensity_samples, linear_bandit_options::propensity_samples): it bounds the time
/// of a propensity refresh (samples x arms draws) and of a linear Thompson decision, also for a
/// policy loaded from an untrusted file.
inline constexpr std::size_t max_propensity_samples = 100'000;

/// @brief Caller-chosen, stable identifier of an arm (an item id, a model version, a template).
using arm_id = std::uint64_t;

/// @brief One decision: the arm chosen and the probability with which the policy chose it, as
/// logged for off-policy evaluation. Deterministic policies (UCB1, LinUCB) log 1.
struct decision {
  arm_id arm = 0;
  double propensity = 1.0;
};

/// @brief The interface a caller needs to explore with any funnel policy: choose an arm for a
/// context (non-contextual policies ignore it) and feed back a reward.
template <class P>
concept Bandit = requires(P& p, row_view context, arm_id arm, double reward) {
  { p.select(context) } -> std::convertible_to<decision>;
  p.update(arm, context, reward);
};

namespace detail {

/// Hex text of funnel::rng's state (rng::state()): 4 state words, the spare normal and its flag,
/// little-endian, 48 bytes with zero padding (the layout of the first format, kept so saved
/// policies still load).
std::string rng_to_hex(const rng& g);
/// @throws parse_error if `hex` is not a state written by rng_to_hex.
rng rng_from_hex(const std::string& hex, std::string_view context);

}  // namespace detail
}  // namespace funnel::bandits
