#pragma once
/// @file rules.hpp
/// @brief Business rules on the slate: sliding-window diversity, per-group caps, group decay
/// (Twitter home-mixer's author diversity rescorer), freshness boost, blocking, pinning,
/// deduplication and truncation.

#include <funnel/rerank/slate.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace funnel::rerank {

namespace detail {
/// @brief Dense ids 0..G-1 for the group keys of the current entries (no_group -> UINT32_MAX).
/// Writes ids into `ids` (by current position) and returns G.
std::size_t dense_groups(slate& s, std::span<const std::uint64_t> keys,
                         std::vector<std::uint32_t>& ids);

/// @brief Stable sort of the entries by score, best first (after a rescoring rule).
void sort_by_score(slate& s);

void check_nonnegative_scores(const slate& s, std::string_view who);

/// @brief A rule acting within the groups of one group column (e.g. "author"), tuned by
/// `Options`.
template <class Options>
class group_rule : public configured_reranker<Options> {
 public:
  /// @brief The name of the group column the rule reads.
  [[nodiscard]] const std::string& group() const noexcept { return group_; }

 protected:
  group_rule(std::string group, const Options& options)
      : configured_reranker<Options>(options), group_(std::move(group)) {}
  std::string group_;
};
}  // namespace detail

/// @brief sliding_window's options.
struct sliding_window_options {
  std::size_t window = 4;          ///< consecutive positions per window; > 0
  std::size_t max_per_window = 1;  ///< items of one group per window; > 0
  /// Remove the items no position could take (the constraint then holds on every window of the
  /// result); false keeps them after the filled prefix.
  bool drop_unplaced = true;
};

/// @brief At most `max_per_window` items of one group in every `window` consecutive positions.
///
/// Greedy fill over the whole slate (context::k is not used; chain `truncate` after it): each
/// position takes the best-ranked remaining item that keeps the constraint on the window ending
/// there. When no remaining item fits, filling stops. With `drop_unplaced` (default) the items
/// left over are removed and the constraint holds on every window of the result; otherwise they
/// follow the filled prefix in their order and the constraint holds on the prefix only.
/// Items passed over (moved down) or removed are marked rule::window. O(N * scan) worst case.
class sliding_window : public detail::group_rule<sliding_window_options> {
 public:
  /// @throws invalid_argument when options.window or options.max_per_window is 0.
  explicit sliding_window(std::string group, const sliding_window_options& options = {});
  /// @throws not_found when the slate has no group column of this name.
  void rerank(slate& s, const context& /*ctx*/) const;
};

/// @brief group_cap's options.
struct group_cap_options {
  std::size_t max_per_group = 1;  ///< items kept per group; > 0
};

/// @brief At most `max_per_group` items of each group in the slate (e.g. 3 per seller); the
/// excess (the worse-ranked items of the group) is removed. Chain one per group column.
class group_cap : public detail::group_rule<group_cap_options> {
 public:
  /// @throws invalid_argument when options.max_per_group is 0.
  explicit group_cap(std::string group, const group_cap_options& options = {});
  /// @throws not_found when the slate has no group column of this name.
  void rerank(slate& s, const context& /*ctx*/) const;
};

/// @brief The multiplier of the item at 0-based `index` within its group (by score, best first):
/// (1 - floor) * decay^index + floor, as home-mixer's authorDiversityBasedRescorer.
[[nodiscard]] inline double group_decay_factor(std::size_t index, double decay,
                                               double floor) noexcept {
  return (1.0 - floor) * std::pow(decay, static_cast<double>(index)) + floor;
}

/// @brief group_decay's options (home-mixer's defaults).
struct group_decay_options {
  double decay = 0.5;   ///< in [0, 1]
  double floor = 0.25;  ///< in [0, 1]
};

/// @brief Author/category decay as in Twitter's home-mixer (AuthorBasedListwiseRescoringProvider):
/// within each group, sorted by score, the i-th item's score is multiplied by
/// (1 - floor) * decay^i + floor; then the slate is re-sorted by score (stable). Items with
/// no_group are untouched. home-mixer's defaults are decay = 0.5, floor = 0.25.
class group_decay : public detail::group_rule<group_decay_options> {
 public:
  /// @throws invalid_argument when options.decay or options.floor is outside [0, 1].
  explicit group_decay(std::string group, const group_decay_options& options = {});
  /// @throws not_found for an unknown group column; invalid_argument on a negative score.
  void rerank(slate& s, const context& /*ctx*/) const;
};

/// @brief freshness's options. Times are in the unit of the slate's timestamps.
struct freshness_options {
  double half_life = 1.0;  ///< age at which the boost halves; > 0
  double weight = 1.0;     ///< boost of a brand-new item; >= 0
};

/// @brief Freshness boost: score *= 1 + weight * 2^(-age / half_life), age = max(0, now - t).
/// A brand-new item gets (1 + weight) times its score, one half-life old (1 + weight / 2).
class freshness : public detail::configured_reranker<freshness_options> {
 public:
  /// @throws invalid_argument when options.half_life <= 0 or options.weight < 0.
  explicit freshness(const freshness_options& options = {});
  /// @brief The multiplier at a given age.
  [[nodiscard]] double factor(double age) const noexcept {
    return 1.0 + o_.weight * std::exp2(-std::max(0.0, age) / o_.half_life);
  }
  /// @throws invalid_argument without timestamps on the slate, or on a negative score.
  void rerank(slate& s, const context& ctx) const;
};

/// @brief Removes items whose id is in context::blocked or in this rule's own (static) list.
class block_items {
 public:
  block_items() = default;
  /// @brief A static block list (e.g. takedowns), checked in addition to context::blocked.
  explicit block_items(std::vector<std::uint64_t> ids) : ids_(std::move(ids)) {
    std::sort(ids_.begin(), ids_.end());
  }
  void rerank(slate& s, const context& ctx) const;

 private:
  std::vector<std::uint64_t> ids_;
};

/// @brief Keeps the best-ranked item of each dedup key, removes the others.
class dedup {
 public:
  /// @throws invalid_argument when the slate has no dedup keys.
  void rerank(slate& s, const context& /*ctx*/) const;
};

/// @brief Moves each item of context::pins that is in the slate to its position (clamped to the
/// end), in ascending position order, so earlier pins are not displaced by later ones. Put it
/// last in a chain: a later rule may move pinned items again.
class pin_items {
 public:
  void rerank(slate& s, const context& ctx) const;
};

/// @brief Cuts the slate to context::k items.
class truncate {
 public:
  void rerank(slate& s, const context& ctx) const;
};

}  // namespace funnel::rerank
