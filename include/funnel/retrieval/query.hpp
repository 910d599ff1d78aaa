#pragma once
/// @file query.hpp
/// @brief What a candidate generator is asked (`user_query`): the one retrieval type a pipeline
/// needs, without the interaction log.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace funnel::retrieval {

/// @brief What a candidate generator is asked: who the user is and what they did recently.
/// Generators use what they need: ALS the user (or folds in the history), co-visitation the
/// history, popularity the segment.
struct user_query {
  std::optional<std::uint64_t> user;       ///< external user id, if known
  std::span<const std::uint64_t> history;  ///< external item ids, oldest first
  std::span<const float> history_weights;  ///< optional, same length as history (else all 1)
  std::string segment;                     ///< popularity segment ("" = global)
  bool exclude_history = true;             ///< never return items already in the history
};

}  // namespace funnel::retrieval
