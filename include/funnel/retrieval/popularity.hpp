#pragma once
/// @file popularity.hpp
/// @brief Popularity, global and per segment (genre, country ...), with exponential time decay:
/// the cold-start fallback every recommender needs.

#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/core/views.hpp>
#include <funnel/retrieval/interactions.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace funnel::retrieval {

/// @brief Popularity parameters.
struct popularity_options {
  /// Half-life of an interaction's contribution, in timestamp units (0 = no decay: plain counts).
  double half_life = 0.0;
  /// The "now" decay is measured from; default (nullopt) = the latest timestamp in the log.
  std::optional<std::int64_t> now;
  bool use_weights = false;  ///< sum interaction weights instead of counting interactions
  std::size_t top_n = 1000;  ///< items kept per segment
};

/// @brief Item -> segments it belongs to (e.g. movie -> genres).
using segment_map = std::unordered_map<std::uint64_t, std::vector<std::string>>;

/// @brief A fitted popularity ranking per segment ("" = global).
class popularity_model : public json_file_io<popularity_model> {
 public:
  // fit_popularity (below) builds the model from its private parts.
  friend popularity_model fit_popularity(const interaction_log& log,
                                         const popularity_options& options,
                                         const segment_map& segments);

  /// @brief The ranking of `segment`, best first. @throws not_found for an unknown segment.
  [[nodiscard]] const candidate_list& top(const std::string& segment = "") const;
  /// @brief Segment names known to the model (including "").
  [[nodiscard]] std::vector<std::string> segments() const;

  /// @brief The query's segment ranking (global if "" ; an unknown segment falls back to global,
  /// since popularity is itself the fallback), minus history items if asked, filtered.
  template <class Allow = allow_all>
  [[nodiscard]] candidate_list retrieve(const user_query& query, std::size_t k,
                                        const Allow& allow = {}) const {
    const auto it = rankings_.find(query.segment);
    const auto& ranking = it == rankings_.end() ? rankings_.at("") : it->second;
    std::vector<std::uint64_t> seen;
    if (query.exclude_history) seen.assign(query.history.begin(), query.history.end());
    std::sort(seen.begin(), seen.end());
    candidate_list out;
    out.reserve(std::min(k, ranking.size()));
    for (const auto& c : ranking) {
      if (out.size() == k) break;
      if (std::binary_search(seen.begin(), seen.end(), c.id)) continue;
      if (allow(c.id)) out.push_back(c);
    }
    return out;
  }

  /// @brief `{"type": "funnel.retrieval.popularity_model", "version": 1, "segments"}`; from_json
  /// also reads the earlier type "popularity_model".
  [[nodiscard]] json to_json() const;
  static popularity_model from_json(const json& j);

 private:
  std::map<std::string, candidate_list> rankings_;
};

/// @brief score_i = sum over interactions with i of w * 2^(-(now - t) / half_life).
/// @throws invalid_argument on an empty log or a negative half-life.
[[nodiscard]] popularity_model fit_popularity(const interaction_log& log,
                                              const popularity_options& options = {},
                                              const segment_map& segments = {});

}  // namespace funnel::retrieval
