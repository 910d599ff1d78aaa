#pragma once
/// @file slate.hpp
/// @brief The slate every re-ranker works on: the ranked candidates, views of the per-item
/// attributes re-rankers need (group keys, timestamps, dedup keys, embeddings), reusable scratch
/// memory, and a trace per item saying where it started, where it ended and which rules moved it.

#include <funnel/core/enum_names.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/views.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace funnel::rerank {

/// @brief Group key meaning "belongs to no group": never counted by caps, windows or decay.
inline constexpr std::uint64_t no_group = std::numeric_limits<std::uint64_t>::max();
/// @brief "No position": the final rank of a removed item, or "keep every item" for context::k.
inline constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

/// @brief The rules a re-ranker records on the items it moved, removed or rescored (a bit set).
enum class rule : std::uint32_t {
  mmr = 1U << 0,          ///< moved by maximal marginal relevance
  dpp = 1U << 1,          ///< moved by DPP MAP inference
  window = 1U << 2,       ///< moved or removed by the sliding-window constraint
  cap = 1U << 3,          ///< removed by a per-group cap
  decay = 1U << 4,        ///< rescored by group (author/category) decay
  freshness = 1U << 5,    ///< rescored by the freshness boost
  pinned = 1U << 6,       ///< placed at a pinned position
  blocked = 1U << 7,      ///< removed because blocked
  dedup = 1U << 8,        ///< removed as a duplicate of a better-ranked item
  exploration = 1U << 9,  ///< placed in an exploration slot by a policy (see propensity)
  truncated = 1U << 10,   ///< removed by truncation to context::k
};

/// @brief The lower-case names of the rules ("mmr", "window", ...): `to_string(r)`,
/// `parse_enum<rule>(name, where)` (core/enum_names.hpp).
constexpr auto enum_names_of(rule) {
  return enum_names<rule, 11>{"rule",
                              {{{rule::mmr, "mmr"},
                                {rule::dpp, "dpp"},
                                {rule::window, "window"},
                                {rule::cap, "cap"},
                                {rule::decay, "decay"},
                                {rule::freshness, "freshness"},
                                {rule::pinned, "pinned"},
                                {rule::blocked, "blocked"},
                                {rule::dedup, "dedup"},
                                {rule::exploration, "exploration"},
                                {rule::truncated, "truncated"}}}};
}
using funnel::to_string;

/// @brief Why one item is where it is: its rank before and after re-ranking and what acted on it.
struct item_trace {
  std::uint64_t id = 0;              ///< the candidate id
  std::size_t original_rank = npos;  ///< 0-based position in the slate as it came in
  std::size_t final_rank = npos;     ///< 0-based position now; npos when removed
  float original_score = 0.0F;       ///< score as it came in
  float final_score = 0.0F;          ///< score now (changed by decay/freshness only)
  std::uint32_t rules = 0;           ///< bit set of `rule`s that acted on the item, in any order
  /// Probability with which an exploration policy chose this item; NaN unless rule::exploration.
  double propensity = std::numeric_limits<double>::quiet_NaN();

  /// @brief True when rule `r` acted on this item.
  [[nodiscard]] bool has(rule r) const noexcept {
    return (rules & static_cast<std::uint32_t>(r)) != 0;
  }
  /// @brief True when the item was removed from the slate.
  [[nodiscard]] bool removed() const noexcept { return final_rank == npos; }
};

/// @brief A position reserved for one item, requested per request (editorial picks, promotions).
struct pin {
  std::uint64_t id = 0;      ///< candidate id; ignored when the id is not in the slate
  std::size_t position = 0;  ///< 0-based target position (clamped to the slate's end)
};

/// @brief Per-request inputs shared by all re-rankers of a chain.
struct context {
  /// Slate length wanted: MMR/DPP select this many, window fills this many, truncate cuts here.
  std::size_t k = npos;
  double now = 0.0;        ///< current time, in the unit of the slate's timestamps (freshness)
  std::uint64_t seed = 0;  ///< seed of this request's exploration draws (log it to replay)
  std::span<const std::uint64_t> blocked{};  ///< ids removed by block_items (e.g. user's blocks)
  std::span<const pin> pins{};               ///< positions set by pin_items
};

/// @brief Similarity of two items given by their original indices in the slate.
using similarity_fn = std::function<float(std::size_t, std::size_t)>;

namespace detail {
/// @brief Reusable buffers: re-rankers grow them once and keep the capacity across requests.
struct scratch {
  std::vector<float> f0, f1, f2;
  std::vector<double> d0, d1, d2, d3, d4, d5;
  std::vector<std::uint32_t> u0, u1, u2;
  std::vector<std::uint64_t> k0;
  std::vector<unsigned char> b0;
  std::vector<candidate> c0;
};
}  // namespace detail

/// @brief The candidates being re-ranked plus everything the re-rankers may read about them.
///
/// Attributes are views of caller memory indexed by the item's *original* position (the order of
/// the candidates passed to reset), so re-ranking moves only small entries, never attributes.
/// A slate is reused across requests: reset() keeps the capacity of all internal buffers.
class slate {
 public:
  /// @brief One item in the current order: the candidate and its original index.
  struct entry {
    candidate item;
    std::uint32_t origin = 0;
  };

  slate() = default;
  /// @brief A slate over `items` in their current (ranked) order.
  explicit slate(std::span<const candidate> items) { reset(items); }

  /// @brief Starts a new request: takes `items` (best first) and forgets all attribute views.
  /// @throws invalid_argument when there are more than 2^32 - 1 items or a score is NaN.
  void reset(std::span<const candidate> items);

  /// @brief Adds a named group-key column (e.g. "author", "genre"); `no_group` = no group.
  /// @throws dimension_mismatch when keys.size() differs from the original item count.
  void set_groups(std::string_view name, std::span<const std::uint64_t> keys);
  // hot path
  /// @brief Item timestamps (any unit; context::now and freshness half-life use the same unit).
  /// @throws dimension_mismatch on a size mismatch.
  void set_timestamps(std::span<const double> t) {
    check_size("timestamps", t.size());
    timestamps_ = t;
  }
  /// @brief Dedup keys (e.g. a content hash or canonical URL id).
  /// @throws dimension_mismatch on a size mismatch.
  void set_dedup_keys(std::span<const std::uint64_t> keys) {
    check_size("dedup keys", keys.size());
    dedup_keys_ = keys;
  }
  /// @brief Item embeddings: item i uses row `rows[i]` of `m` (or row i when `rows` is empty).
  /// @throws dimension_mismatch on a size mismatch; invalid_argument on a row out of range.
  void set_embeddings(matrix_view m, std::span<const std::uint32_t> rows = {});
  /// @brief A similarity callback used by MMR/DPP when no embeddings are set.
  void set_similarity(similarity_fn f) { similarity_ = std::move(f); }

  // end of hot path
  /// @brief The group keys called `name`. @throws not_found naming the missing column.
  [[nodiscard]] std::span<const std::uint64_t> groups(std::string_view name) const;

  // hot path
  [[nodiscard]] std::span<const double> timestamps() const noexcept { return timestamps_; }
  [[nodiscard]] std::span<const std::uint64_t> dedup_keys() const noexcept { return dedup_keys_; }
  [[nodiscard]] bool has_embeddings() const noexcept { return !embeddings_.empty(); }
  [[nodiscard]] const matrix_view& embeddings() const noexcept { return embeddings_; }
  /// @brief The embedding of the item with original index `origin` (unchecked).
  [[nodiscard]] row_view embedding(std::size_t origin) const noexcept {
    return embeddings_.row(embedding_rows_.empty() ? origin : embedding_rows_[origin]);
  }
  [[nodiscard]] const similarity_fn& similarity() const noexcept { return similarity_; }

  /// @brief Number of items currently in the slate.
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  /// @brief Number of items the slate started with (the size of every attribute view).
  [[nodiscard]] std::size_t original_size() const noexcept { return trace_.size(); }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  /// @brief The items in their current order.
  [[nodiscard]] std::span<const entry> entries() const noexcept { return entries_; }
  /// @brief The items for a re-ranker to reorder, rescore or erase (then call mark()).
  [[nodiscard]] std::vector<entry>& mutable_entries() noexcept { return entries_; }

  /// @brief Puts the item now at position order[i] at position i; positions not listed are removed.
  /// `order` must hold distinct positions < size() (unchecked: re-rankers build it).
  void reorder(std::span<const std::uint32_t> order) {
    tmp_.clear();
    for (const auto p : order) tmp_.push_back(entries_[p]);
    entries_.swap(tmp_);
  }

  /// @brief Puts the items now at positions `first` on top, in that order; the others follow in
  /// their current order (a greedy re-ranker's picks, then the rest). `first` must hold distinct
  /// positions < size() (unchecked: re-rankers build it).
  void promote(std::span<const std::uint32_t> first) {
    taken_.assign(entries_.size(), 0);
    tmp_.clear();
    for (const auto p : first) {
      tmp_.push_back(entries_[p]);
      taken_[p] = 1;
    }
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (taken_[i] == 0) tmp_.push_back(entries_[i]);
    }
    entries_.swap(tmp_);
  }

  /// @brief Records that `r` acted on the item with original index `origin`.
  void mark(std::uint32_t origin, rule r) noexcept {
    trace_[origin].rules |= static_cast<std::uint32_t>(r);
  }
  /// @brief Records the propensity with which an exploration policy chose item `origin`.
  void set_propensity(std::uint32_t origin, double p) noexcept { trace_[origin].propensity = p; }

  /// @brief The current candidates, best first, into `out` (reusing its capacity).
  void write(candidate_list& out) const {
    out.clear();
    for (const auto& e : entries_) out.push_back(e.item);
  }
  // end of hot path

  /// @brief The current candidates as a new list.
  [[nodiscard]] candidate_list candidates() const;

  /// @brief Per-item traces indexed by original position, final ranks and scores brought up to
  /// date.
  [[nodiscard]] std::span<const item_trace> trace() noexcept;
  /// @brief A human-readable line per original item: "id 7: rank 3 -> 0 [mmr,pinned]".
  [[nodiscard]] std::string explain();

  /// @brief Scratch buffers for re-rankers (not part of the slate's observable state).
  [[nodiscard]] detail::scratch& scratch() noexcept { return scratch_; }

 private:
  void check_size(std::string_view what, std::size_t n) const;

  std::vector<entry> entries_;
  std::vector<entry> tmp_;
  std::vector<unsigned char> taken_;  // promote()
  std::vector<item_trace> trace_;
  std::vector<std::pair<std::string, std::span<const std::uint64_t>>> groups_;
  std::span<const double> timestamps_;
  std::span<const std::uint64_t> dedup_keys_;
  matrix_view embeddings_;
  std::span<const std::uint32_t> embedding_rows_;
  similarity_fn similarity_;
  detail::scratch scratch_;
};

namespace detail {
/// @brief What every re-ranker configured by an options struct shares: the options it was built
/// with (checked by the derived constructor) and `options()` to read them back.
template <class Options>
class configured_reranker {
 public:
  [[nodiscard]] const Options& options() const noexcept { return o_; }

 protected:
  explicit configured_reranker(const Options& options) : o_(options) {}
  Options o_;
};

// hot path
/// @brief Marks every item whose position differs between `before` (origins) and the slate now.
inline void mark_moved(slate& s, std::span<const std::uint32_t> before, rule r) noexcept {
  const auto e = s.entries();
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (i >= before.size() || before[i] != e[i].origin) s.mark(e[i].origin, r);
  }
}
/// @brief Copies the current order of origins into `out`.
inline void snapshot(const slate& s, std::vector<std::uint32_t>& out) {
  out.clear();
  for (const auto& e : s.entries()) out.push_back(e.origin);
}
}  // namespace detail

}  // namespace funnel::rerank
