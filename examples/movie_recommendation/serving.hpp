#pragma once
/// @file serving.hpp
/// @brief The flagship's served system for a long-running service: the same stages as the
/// evaluation's served pipeline (ALS through HNSW + co-visitation + popularity, the features
/// pipeline, the GBDT ranker behind a model registry, MMR by genre and one exploration slot
/// chosen by an epsilon-greedy bandit), trained once on a whole log and then serving requests
/// from many threads while the bandit learns from feedback.

#include <funnel/bandits/mab.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/views.hpp>
#include <funnel/pipeline/model_registry.hpp>
#include <funnel/pipeline/pipeline.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recommender.hpp"

namespace movie {

/// @brief How the served system is trained and how its pipeline serves.
struct serving_options {
  options model;                                ///< the experiment's knobs (ALS, HNSW, GBDT...)
  funnel::pipeline::pipeline_options pipeline;  ///< stage budgets of a request
  bool per_user_labels = true;  ///< ranker labels: each user's later ratings (else a time slice)
};

/// @brief The exploration decision of one served request.
struct exploration_decision {
  std::uint64_t item = 0;
  std::size_t position = 0;  ///< 0-based slot position
  std::uint64_t arm = 0;     ///< bandit arm: the depth band the item was drawn from
  double propensity = 1.0;
};

/// @brief One served request.
struct served_slate {
  funnel::pipeline::result result;
  std::optional<exploration_decision> explored;  ///< set when the slate has the slot
  bool known_user = false;                       ///< false: cold start (popularity, no history)
};

/// @brief The trained system. recommend() and the bandit's methods are thread-safe.
class serving_system {
 public:
  using ranker_registry = funnel::pipeline::model_registry<funnel::scoring::tree_ensemble>;

  /// @brief Trains every stage on the whole of `data.log` (registering the GBDT as `version`).
  /// @throws as run_experiment on a log too small to train on.
  serving_system(const dataset& data, const serving_options& so,
                 const std::string& version = "gbdt-v1");
  ~serving_system();
  serving_system(const serving_system&) = delete;
  serving_system& operator=(const serving_system&) = delete;

  /// @brief Serves `k` items to `user` (an unknown user gets the cold-start slate).
  [[nodiscard]] served_slate recommend(std::uint64_t request_id, std::uint64_t user,
                                       std::size_t k) const;
  /// @brief Whether `user` has a history in the training log.
  [[nodiscard]] bool knows(std::uint64_t user) const;

  /// @brief The ranker versions (hot swap, rollback, canary, shadow).
  [[nodiscard]] ranker_registry& rankers() noexcept;
  /// @brief The GBDT trained at start-up.
  [[nodiscard]] const funnel::scoring::tree_ensemble& trained_ranker() const noexcept;
  /// @brief Names of the ranker's features, in order.
  [[nodiscard]] const std::vector<std::string>& feature_names() const noexcept;
  /// @brief The ranker's training rows (features then the trained GBDT's score), at most
  /// `max_rows` of them: the reference of a drift monitor.
  [[nodiscard]] funnel::matrix reference_rows(std::size_t max_rows) const;
  /// @brief Logs what the ranker scores (call before serving; see pipeline::set_feature_logger).
  void set_feature_logger(funnel::pipeline::feature_logger logger);

  /// @brief Feeds a reward back to the exploration bandit's `arm`. @throws not_found for an
  /// unknown arm, invalid_argument for a non-finite reward.
  void reward(std::uint64_t arm, double value);
  /// @brief The bandit's state (funnel::bandits::mab JSON).
  [[nodiscard]] funnel::json bandit_state() const;
  /// @brief Replaces the bandit's state with one saved by bandit_state(). @throws parse_error.
  void restore_bandit(const funnel::json& state);
  /// @brief The bandit's arms (name = the depth band), pulls, mean reward and P(choose) now.
  [[nodiscard]] std::vector<explore_arm> bandit_arms() const;

  [[nodiscard]] std::size_t users() const noexcept;
  [[nodiscard]] std::size_t items() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace movie
