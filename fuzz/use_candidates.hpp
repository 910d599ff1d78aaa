#pragma once
// What the candidate-generator fuzz targets (ALS, popularity, co-visitation) do with a model that
// loaded: retrieve for a known user, for an unknown user from a history (with and without
// weights, with and without excluding it), for a segment, with k = 0, small and huge, then a
// save/reload round trip.

#include <funnel/retrieval/interactions.hpp>

#include <cstdint>
#include <limits>
#include <vector>

#include "fuzz_common.hpp"

namespace funnel::fuzz {

template <class M>
void use_candidates(const M& m, std::span<const std::uint64_t> known_items,
                    std::optional<std::uint64_t> known_user, const std::string& segment) {
  std::vector<std::uint64_t> history(
      known_items.begin(), known_items.begin() + static_cast<std::ptrdiff_t>(
                                                     std::min<std::size_t>(known_items.size(), 3)));
  history.push_back(0xdeadbeefULL);  // unknown to the model
  const std::vector<float> weights(history.size(), 2.0F);
  for (const std::size_t k :
       {std::size_t{0}, std::size_t{5}, std::numeric_limits<std::size_t>::max()}) {
    retrieval::user_query q;
    q.user = known_user;
    q.segment = segment;
    (void)m.retrieve(q, k);
    q.user = std::nullopt;
    q.history = history;
    (void)m.retrieve(q, k);
    q.history_weights = weights;
    q.exclude_history = false;
    (void)m.retrieve(q, k);
  }
  (void)M::from_json(m.to_json());
}

}  // namespace funnel::fuzz
