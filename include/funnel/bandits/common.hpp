#pragma once
/// @file common.hpp
/// @brief Vocabulary shared by funnel's bandit policies: arm ids, decisions with propensities, the
/// narrow concept other modules (the re-ranker's exploration slots) program against.

#include <funnel/core/json.hpp>
#include <funnel/core/views.hpp>

// core/random.hpp uses unsigned __int128 (Lemire's bounded integers), which -Wpedantic rejects in
// consumers that build with it (funnel's own -Werror flags included). Reported to core.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <funnel/core/random.hpp>
#pragma GCC diagnostic pop

#include <concepts>
#include <cstdint>
#include <string>

namespace funnel::bandits {

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
concept ExplorationPolicy = requires(P& p, row_view context, arm_id arm, double reward) {
  { p.select(context) } -> std::convertible_to<decision>;
  p.update(arm, context, reward);
};

namespace detail {

/// Hex text of funnel::rng's 48-byte object representation: the generator is trivially copyable,
/// so copying its bytes out and back is well-defined and restores the stream exactly (core's rng
/// exposes no state accessor yet).
std::string rng_to_hex(const rng& g);
/// @throws parse_error if `hex` is not a state written by rng_to_hex.
rng rng_from_hex(const std::string& hex, std::string_view context);

}  // namespace detail
}  // namespace funnel::bandits
