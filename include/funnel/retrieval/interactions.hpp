#pragma once
/// @file interactions.hpp
/// @brief An interaction log (user, item, weight, timestamp) with external <-> dense id mapping,
/// loaded from CSV, and a time-based train/test split that never leaks the future.

#include <funnel/core/csv.hpp>
#include <funnel/core/views.hpp>
#include <funnel/retrieval/query.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace funnel::retrieval {

/// @brief Maps external 64-bit ids to dense indices 0..size()-1 in order of first appearance.
class id_map {
 public:
  /// @brief Dense index of `external`, adding it if new.
  std::uint32_t add(std::uint64_t external);
  /// @brief Dense index of `external`, or nullopt if never seen.
  [[nodiscard]] std::optional<std::uint32_t> find(std::uint64_t external) const noexcept {
    const auto it = index_.find(external);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  /// @brief Dense index of `external`. @throws not_found naming `what` (e.g. "user") and the id.
  [[nodiscard]] std::uint32_t at(std::uint64_t external, std::string_view what) const;
  /// @brief External id of dense index `i` (unchecked).
  [[nodiscard]] std::uint64_t external(std::uint32_t i) const noexcept { return external_[i]; }
  [[nodiscard]] std::size_t size() const noexcept { return external_.size(); }
  [[nodiscard]] const std::vector<std::uint64_t>& externals() const noexcept { return external_; }

 private:
  std::unordered_map<std::uint64_t, std::uint32_t> index_;
  std::vector<std::uint64_t> external_;
};

/// @brief One interaction with dense user and item indices.
struct interaction {
  std::uint32_t user = 0;
  std::uint32_t item = 0;
  float weight = 1.0F;         ///< rating, play count or 1 for implicit events
  std::int64_t timestamp = 0;  ///< seconds (any monotone unit)
};

/// @brief Which CSV columns hold what (weight and timestamp optional).
struct interaction_columns {
  std::string user = "userId";
  std::string item = "movieId";
  std::string weight = "rating";        ///< empty: every interaction weighs 1
  std::string timestamp = "timestamp";  ///< empty: all at time 0
};

/// @brief A log of interactions sharing one user id_map and one item id_map.
class interaction_log {
 public:
  /// @brief Appends one interaction by external ids. @throws invalid_argument on a non-finite or
  /// negative weight.
  void add(std::uint64_t user, std::uint64_t item, float weight = 1.0F, std::int64_t timestamp = 0);

  /// @brief An interaction log from an already parsed table (`load_interactions_csv` reads the
  /// file). Ids must be non-negative integers, weights finite and >= 0.
  /// @throws parse_error naming file, line and column.
  static interaction_log from_table(const csv_table& table,
                                    const interaction_columns& columns = {});

  [[nodiscard]] const std::vector<interaction>& interactions() const noexcept { return rows_; }
  [[nodiscard]] std::size_t size() const noexcept { return rows_.size(); }
  [[nodiscard]] const id_map& users() const noexcept { return users_; }
  [[nodiscard]] const id_map& items() const noexcept { return items_; }
  [[nodiscard]] std::size_t num_users() const noexcept { return users_.size(); }
  [[nodiscard]] std::size_t num_items() const noexcept { return items_.size(); }

  /// @brief The timestamp below which a fraction `q` of interactions fall (q in [0, 1]).
  [[nodiscard]] std::int64_t time_quantile(double q) const;

  /// @brief Interactions strictly before `cutoff` (train) and at or after it (test). Both keep
  /// this log's id maps, so dense indices agree; an item first seen in the test period has no
  /// training interactions. The split never puts a later interaction in train than in test.
  [[nodiscard]] std::pair<interaction_log, interaction_log> split_by_time(
      std::int64_t cutoff) const;

  /// @brief Per user, the latest `test_fraction` of that user's interactions (at least one, for
  /// users with two or more) go to test, the rest to train. Each user's test is later than that
  /// user's train, but other users' later interactions may be in train: the usual
  /// "leave-last-out" protocol, which leaks population-level future (trends); prefer
  /// split_by_time when the catalogue or tastes move.
  [[nodiscard]] std::pair<interaction_log, interaction_log> split_per_user(
      double test_fraction) const;

  /// @brief Per-user item lists as CSR (rows = users, columns = items, values = summed weights),
  /// items ascending within a row.
  [[nodiscard]] csr_matrix user_items() const;

 private:
  id_map users_;
  id_map items_;
  std::vector<interaction> rows_;
};

/// @brief Options of `load_interactions_csv`: which columns hold what, and how the CSV is read.
struct interactions_csv_options {
  interaction_columns columns = {};  ///< defaults: MovieLens's ratings.csv
  csv_options csv = {};
};

/// @brief Loads an interaction log from a CSV (MovieLens's ratings.csv by default). Ids must be
/// non-negative integers, weights finite and >= 0.
/// @throws io_error, parse_error naming file, line and column.
[[nodiscard]] interaction_log load_interactions_csv(const std::filesystem::path& path,
                                                    const interactions_csv_options& options = {});

/// @brief The filter that allows everything.
struct allow_all {
  constexpr bool operator()(std::uint64_t /*item*/) const noexcept { return true; }
};

}  // namespace funnel::retrieval
