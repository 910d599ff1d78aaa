#pragma once
/// @file covisitation.hpp
/// @brief Item-to-item co-visitation ("people who watched this also watched"): counts of items
/// a user interacted with close together in time, normalised, top-N neighbours per item.

#include <funnel/core/enum_names.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/core/views.hpp>
#include <funnel/retrieval/interactions.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <type_traits>
#include <vector>

namespace funnel::retrieval {

/// @brief How raw co-visitation counts c_ij become similarities.
enum class covisit_normalization {
  none,         ///< c_ij
  cosine,       ///< c_ij / sqrt(n_i n_j), n_i = interactions with item i
  conditional,  ///< c_ij / n_i: an estimate of P(j | i)
};

/// @brief Names "none", "cosine", "conditional" (`to_string`, `parse_enum`).
constexpr auto enum_names_of(covisit_normalization) {
  return enum_names<covisit_normalization, 3>{
      "normalization",
      {{{covisit_normalization::none, "none"},
        {covisit_normalization::cosine, "cosine"},
        {covisit_normalization::conditional, "conditional"}}}};
}
using funnel::to_string;

/// @brief Co-visitation parameters.
struct covisitation_options {
  /// Two interactions of one user co-visit when at most `window` time units apart ...
  std::int64_t window = 24 * 3600;
  /// ... and at most `max_lag` positions apart in the user's time-ordered history (0 = no limit).
  /// A lag bound keeps the pair count linear in the log size for heavy users.
  std::size_t max_lag = 20;
  covisit_normalization normalization = covisit_normalization::cosine;
  std::size_t top_n = 50;  ///< neighbours kept per item
  /// Weight of the history item j positions before the most recent one at retrieval: decay^j.
  double history_decay = 0.9;
};

/// @brief A fitted co-visitation table: top-N neighbours (external ids, similarity) per item.
class covisitation_model : public json_file_io<covisitation_model> {
 public:
  // fit_covisitation (below) builds the model from its private parts.
  friend covisitation_model fit_covisitation(const interaction_log& log,
                                             const covisitation_options& options);

  /// @brief Neighbours of `item`, best first (empty for an unknown item).
  [[nodiscard]] std::span<const candidate> neighbours(std::uint64_t item) const noexcept;

  /// @brief Items scored by sum over the history of decay^age * similarity(history item, item);
  /// unknown history items are skipped; an empty or all-unknown history returns an empty list.
  template <class Allow = allow_all>
  [[nodiscard]] candidate_list retrieve(const user_query& query, std::size_t k,
                                        const Allow& allow = {}) const {
    auto scored = accumulate(query);
    if constexpr (!std::is_same_v<Allow, allow_all>) {
      std::erase_if(scored, [&](const candidate& c) { return !allow(c.id); });
    }
    keep_best(scored, k);
    return scored;
  }

  [[nodiscard]] const id_map& items() const noexcept { return item_ids_; }
  [[nodiscard]] const covisitation_options& options() const noexcept { return options_; }

  /// @brief `{"type": "funnel.retrieval.covisitation_model", "version": 1, ...}`; from_json also
  /// reads the earlier type "covisitation_model".
  [[nodiscard]] json to_json() const;
  static covisitation_model from_json(const json& j);

 private:
  /// All scored items (history excluded if asked), in no particular order: scores summed in a
  /// dense array over the neighbours' slots (no hash map per request).
  [[nodiscard]] candidate_list accumulate(const user_query& query) const;
  /// Keeps the best `k` (score, then smaller id), best first: a partial sort, not a full one.
  static void keep_best(candidate_list& c, std::size_t k);
  /// Fills neighbour_slots_ and slot_ids_ from item_ids_ and neighbours_ (after fit or load).
  void index_neighbours();

  covisitation_options options_;
  id_map item_ids_;
  std::vector<std::size_t> offsets_{0};  // item i's neighbours: [offsets_[i], offsets_[i+1])
  std::vector<candidate> neighbours_;
  // Derived (not saved): each neighbour's slot in accumulate()'s dense array. Slots are the dense
  // item indices, then one per neighbour id the item map does not hold (a loaded file may have
  // such); slot_ids_ maps a slot back to its external id.
  std::vector<std::uint32_t> neighbour_slots_;
  std::vector<std::uint64_t> slot_ids_;
};

/// @brief Counts co-visits in `log`. @throws invalid_argument on an empty log or bad options.
[[nodiscard]] covisitation_model fit_covisitation(const interaction_log& log,
                                                  const covisitation_options& options = {});

}  // namespace funnel::retrieval
